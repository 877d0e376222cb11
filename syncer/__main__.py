"""``python -m syncer`` is ``vsyncer``."""

import sys

from syncer.cli import main

sys.exit(main())
