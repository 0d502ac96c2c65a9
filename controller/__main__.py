"""`python -m controller`: run the GlovRun operator."""

from controller.main import main

raise SystemExit(main())
