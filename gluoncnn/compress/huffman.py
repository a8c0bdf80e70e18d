"""Canonical Huffman coding of small integer symbols (the indices of shared weights)."""
import heapq

import numpy as np

from ..errors import FileFormatError, OptionError


def huffman_code_lengths(freqs):
    """Huffman code length per symbol from its frequency (0 for unused symbols).

    Deterministic: ties are broken by the smallest symbol in each subtree. A single used symbol
    gets length 1.
    """
    freqs = np.asarray(freqs, dtype=np.int64)
    lengths = np.zeros(freqs.size, dtype=np.int64)
    used = np.flatnonzero(freqs > 0)
    if used.size == 0:
        return lengths.astype(np.uint8)
    if used.size == 1:
        lengths[used[0]] = 1
        return lengths.astype(np.uint8)
    heap = [(int(freqs[s]), int(s), [int(s)]) for s in used]
    heapq.heapify(heap)
    while len(heap) > 1:
        f1, t1, s1 = heapq.heappop(heap)
        f2, t2, s2 = heapq.heappop(heap)
        merged = s1 + s2
        lengths[merged] += 1
        heapq.heappush(heap, (f1 + f2, min(t1, t2), merged))
    if lengths.max() > 255:
        raise OptionError("Huffman code longer than 255 bits")
    return lengths.astype(np.uint8)


def canonical_codes(lengths):
    """Canonical Huffman codes (as ints) for the given code lengths: symbols sorted by
    (length, symbol) get consecutive codes. Only the lengths need to be stored."""
    lengths = np.asarray(lengths, dtype=np.int64)
    codes = np.zeros(lengths.size, dtype=object)
    code, prev = 0, 0
    for s in sorted(np.flatnonzero(lengths > 0), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[s]) - prev
        prev = int(lengths[s])
        codes[s] = code
        code += 1
    return codes


def huffman_encode(symbols, n_symbols: int | None = None):
    """Canonical Huffman coding of integer ``symbols`` (0 <= s < n_symbols).

    Returns ``(data, lengths)``: the bit stream packed MSB-first into bytes (the last byte padded
    with zeros) and the uint8 code length of each symbol (all a decoder needs, with the count).
    """
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    if n_symbols is None:
        n_symbols = int(symbols.max()) + 1 if symbols.size else 1
    if symbols.size and (symbols.min() < 0 or symbols.max() >= n_symbols):
        raise OptionError(f"symbols must be in [0, {n_symbols})")
    lengths = huffman_code_lengths(np.bincount(symbols, minlength=n_symbols))
    codes = canonical_codes(lengths)
    if symbols.size == 0:
        return b"", lengths
    lmax = int(lengths.max())
    # bit j (MSB first) of each symbol's code, vectorised in chunks
    bits_of = np.zeros((n_symbols, lmax), dtype=np.uint8)
    for s in np.flatnonzero(lengths):
        ln = int(lengths[s])
        for j in range(ln):
            bits_of[s, j] = (codes[s] >> (ln - 1 - j)) & 1
    valid_of = np.arange(lmax)[None, :] < lengths[:, None].astype(np.int64)
    pieces = []
    for start in range(0, symbols.size, 1 << 20):
        chunk = symbols[start:start + (1 << 20)]
        pieces.append(bits_of[chunk][valid_of[chunk]])
    return np.packbits(np.concatenate(pieces)).tobytes(), lengths


def huffman_decode(data: bytes, lengths, count: int) -> np.ndarray:
    """Decode ``count`` symbols from a :func:`huffman_encode` stream given the code lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    used = np.flatnonzero(lengths > 0)
    if used.size == 0:
        raise OptionError("no code lengths: cannot decode")
    codes = canonical_codes(lengths)
    lmax = int(lengths.max())
    tb = min(lmax, 12)  # fast table on the first tb bits; longer codes decoded canonically
    tab_sym = np.full(1 << tb, -1, dtype=np.int64)
    tab_len = np.zeros(1 << tb, dtype=np.int64)
    for s in used:
        ln = int(lengths[s])
        if ln <= tb:
            lo = int(codes[s]) << (tb - ln)
            tab_sym[lo:lo + (1 << (tb - ln))] = s
            tab_len[lo:lo + (1 << (tb - ln))] = ln
    tab_sym, tab_len = tab_sym.tolist(), tab_len.tolist()
    # canonical decoding tables for codes longer than tb: first code and symbols per length
    by_len = {}
    for s in sorted(used, key=lambda s: (lengths[s], s)):
        by_len.setdefault(int(lengths[s]), []).append(int(s))
    first = {ln: int(codes[syms[0]]) for ln, syms in by_len.items()}
    out = np.empty(count, dtype=np.int64)
    buf, nbits, pos = 0, 0, 0
    total_bits = len(data) * 8
    consumed = 0
    mask_tb = (1 << tb) - 1
    for i in range(count):
        if nbits < lmax:
            chunk = data[pos:pos + 8]
            pos += len(chunk)
            buf = (buf << (8 * len(chunk))) | int.from_bytes(chunk, "big")
            nbits += 8 * len(chunk)
            if nbits < lmax:  # end of stream: pad with zeros for the lookups
                buf <<= lmax - nbits
                nbits = lmax
        w = (buf >> (nbits - tb)) & mask_tb
        s = tab_sym[w]
        if s >= 0:
            ln = tab_len[w]
        else:
            ln, code, s = tb, w, -1
            while s < 0:
                ln += 1
                if ln > lmax or ln > nbits:
                    raise FileFormatError("corrupt Huffman stream")
                code = (buf >> (nbits - ln)) & ((1 << ln) - 1)
                if ln in first and 0 <= code - first[ln] < len(by_len[ln]):
                    s = by_len[ln][code - first[ln]]
        out[i] = s
        nbits -= ln
        consumed += ln
        buf &= (1 << nbits) - 1
    if consumed > total_bits:
        raise FileFormatError("Huffman stream ended before all symbols were decoded")
    return out
