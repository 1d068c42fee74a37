"""Launch scripts: `python -m experiments.<name> --flag=...`."""

import os

# Before anything imports TensorFlow: keep its C++ start-up chatter out of the console.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
