"""`python -m robustbench_keras`."""

from robustbench_keras.cli.main import main

raise SystemExit(main())
