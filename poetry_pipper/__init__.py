"""poetry-pipper: private Python packages served straight from an S3 bucket or a directory.

The core (everything in this package except ``commands``, ``cli`` and ``plugin``) imports
nothing from Poetry and nothing heavy at import time: boto3 is loaded only when an S3
repository is actually opened.
"""

from __future__ import annotations

__version__ = "0.1.0"
