import sys

from qt_client.bot.cli import main

sys.exit(main())
