"""`sign --in-place`: sign the records of one file and replace it safely.

The text surgery is `edit`'s; this package owns the file I/O around it
(`files`) and the three ways a file is read and rewritten: whole (`whole`), a
`.json` list streamed (`list_stream`), JSON Lines streamed (`lines_stream`);
`dispatch` picks one.
"""

from monitor.secured.inplace.dispatch import rewrite_file
from monitor.secured.inplace.files import sync_folders
from monitor.secured.inplace.record import Record, Signable, SignOne
from monitor.secured.inplace.result import FileResult

__all__ = ["FileResult", "Record", "SignOne", "Signable", "rewrite_file", "sync_folders"]
