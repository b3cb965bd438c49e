import sys

from triage_cli.main import main

sys.exit(main())
