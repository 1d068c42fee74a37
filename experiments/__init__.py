"""Launch scripts: `python -m experiments.<name> --flag=...`."""

import os

# Before anything imports TensorFlow (used for tf.data only): keep its C++
# start-up chatter out of the console. oneDNN only matters for TF's own math.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
