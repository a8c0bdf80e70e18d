"""Fetching a dataset's missing files with MXNet's own downloader, never over an existing file.

MXNet itself downloads over a file whose sha1 it does not know; here a file that is already
there always wins, and each download lands under a temporary name first.
"""
import os
import re
import tarfile
import uuid

from mxnet import gluon

from .catalogue import MXNET_REPO


def short_cause(error: BaseException) -> str:
    """One line saying why a download failed (the ``[Errno ...]`` part when there is one)."""
    text = str(error)
    errno = re.search(r"\[Errno [^\]]+\][^'\")]*", text)
    if errno:
        text = errno.group(0).strip()
    elif len(text) > 160:
        text = text[:157] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _move_if_missing(tmp, dest):
    """Give ``tmp`` the name ``dest`` only if no ``dest`` exists; an existing file always wins."""
    try:
        os.link(tmp, dest)  # atomic, and fails if dest exists
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system
        if dest.exists():
            return False
        os.replace(tmp, dest)
        return True
    os.remove(tmp)
    return True


def _temporary_name(dest):
    return dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")


def _mxnet_download(url, dest, sha1):
    """MXNet's own downloader (``gluon.utils.download``) into a temporary name beside ``dest``."""
    tmp = _temporary_name(dest)
    try:
        gluon.utils.download(url, path=str(tmp), sha1_hash=sha1, retries=2)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return tmp


def _place(tmp, dest):
    _move_if_missing(tmp, dest)
    if tmp.exists():
        tmp.unlink()


def _repo_url(spec, file):
    return gluon.utils._get_repo_file_url(f"gluon/dataset/{spec.name}", file)


def _release_to_fetch(spec, statuses):
    """The release of the files already there, else the catalogue's first."""
    present = [s.release for s in statuses if s.state == "verified" and s.release in spec.downloads]
    return present[0] if present else next(iter(spec.downloads))


def download_missing(spec, folder, statuses):
    """Fetch the files of ``statuses`` that are missing into ``folder`` (dataset ``spec``);
    never touches an existing file."""
    release = _release_to_fetch(spec, statuses)
    missing = [s.file for s in statuses if s.state == "missing"]
    sha1_of = {file: spec.sha1_of(file, release) for file in missing}
    folder.mkdir(parents=True, exist_ok=True)
    source = spec.downloads[release]
    if source.kind == "files":
        for file in missing:
            url = _repo_url(spec, file) if source.base == MXNET_REPO else source.base + file
            _place(_mxnet_download(url, folder / file, sha1_of[file]), folder / file)
    else:
        _extract_missing(spec, folder, source, sha1_of)


def _extract_missing(spec, folder, source, sha1_of):
    """Download the release's archive and take the files of ``sha1_of`` from it."""
    archive = _mxnet_download(_repo_url(spec, source.base), folder / source.base,
                              source.archive_sha1)
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                file = os.path.basename(member.name)
                if member.isfile() and file in sha1_of:
                    tmp = _temporary_name(folder / file)
                    with tar.extractfile(member) as src, open(tmp, "wb") as dst:
                        dst.write(src.read())
                    _place(tmp, folder / file)
    finally:
        archive.unlink()
