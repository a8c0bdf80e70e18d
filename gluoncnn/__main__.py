from gluoncnn.cli import main

raise SystemExit(main())
