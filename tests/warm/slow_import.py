"""A module that takes a while to import, and says when it was imported: see test_greeting."""

import time

from tests.warm.test_greeting import EVENTS

time.sleep(0.3)
EVENTS.append("imported")
