"""Helper threads of push and pull, and the progress callback type they report through."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

Progress = Callable[[int], None] | None


class Background(ThreadPoolExecutor):
    """Helper threads that are told to stop (``stop``) and joined before the caller's ``with`` ends."""

    def __init__(self) -> None:
        super().__init__(max_workers=3, thread_name_prefix="spanbank-doccano")
        self.stop = threading.Event()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown(wait=True, cancel_futures=True)
