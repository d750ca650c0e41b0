"""Shared by the scripts that derive incident datasets from others
(recut-ranges.py, thin-metrics.py): a folder that links to a dataset's files, so
only the files a script rewrites take space."""
import os


def linked_copy(src, out, rewritten):
    """Make `out/<name of src>` with a symbolic link to each file of the dataset
    folder `src`, except the names in `rewritten` (the caller writes those); links
    already there are kept. Returns (the absolute `src`, the new folder)."""
    src = os.path.abspath(src)
    dst = os.path.join(out, os.path.basename(src.rstrip("/")))
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        link = os.path.join(dst, name)
        if name in rewritten or os.path.lexists(link):
            continue
        os.symlink(os.path.join(src, name), link)
    return src, dst
