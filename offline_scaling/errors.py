"""The library's own error type.

Every problem a user can cause (an unknown name, a bad flag value, a missing or
corrupt file) is raised as `OfflineScalingError` with one sentence that names
the file, field or setting, so launch scripts can print it without a traceback.
"""


class OfflineScalingError(ValueError):
  """A user-facing error: bad input, a missing file, an invalid setting."""
