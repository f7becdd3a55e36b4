import threading
from pathlib import Path

from drivers.os_thread import name_os_thread


def _os_name_of(native_id: int) -> str:
    return Path(f"/proc/self/task/{native_id}/comm").read_text().strip()


def test_a_thread_gets_its_python_name_in_the_os_cut_to_15_bytes():
    seen: list[tuple[int, str]] = []

    def run() -> None:
        name_os_thread()
        seen.append((threading.get_native_id(), _os_name_of(threading.get_native_id())))

    thread = threading.Thread(target=run, name="journal-writer-of-line-7")
    thread.start()
    thread.join()
    assert seen[0][1] == "journal-writer-"
    assert _os_name_of(threading.get_native_id()) != "journal-writer-"  # only that thread
