"""`python -m qt_client`: the mini-meeting desktop client."""

import logging
import sys

from PyQt5.QtWidgets import QApplication

from qt_client.app import MeetingApp
from qt_client.ui.client_settings import ClientSettings


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication(sys.argv)
    app.setApplicationName("mini-meeting")
    meeting = MeetingApp(ClientSettings())
    app.aboutToQuit.connect(meeting.close)
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
