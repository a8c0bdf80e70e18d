"""``pytest --nbval notebooks``: give each cell's outputs time to arrive on a busy machine.

After a cell has finished, nbval reads its output messages with a fixed 5-second wait for each
(``NotebookCell.output_timeout``, not an option). A chapter's progress bars send many widget
updates; on a loaded 2-core machine a message then took longer than that once, and nbval failed
a cell that had run correctly ("Timeout of 5 seconds exceeded waiting for output")."""

#: Seconds nbval waits for each output message of a finished cell.
OUTPUT_TIMEOUT = 120


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_TIMEOUT
