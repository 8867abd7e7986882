# Minimal reproduction of MyST's eval-rst leak: an ``only`` block inside
# ``{eval-rst}`` (matplotlib's plot directive writes its figures that way).
# The test adds mlnotes_doctree_leak to prove the fix, and leaves it out to
# prove the upstream bug is still there.
extensions = ["myst_parser"]
