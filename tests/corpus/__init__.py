"""The hostile and broken input corpus: built from code by ``build.py``, never checked in as blobs."""
