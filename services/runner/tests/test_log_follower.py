import asyncio
from pathlib import Path

from simlab_runner.adapters.local_launcher import LogFollower


class RecordedLog:
    def __init__(self) -> None:
        self.pieces: list[tuple[str, int, bytes]] = []

    async def publish(self, job_id: str, shard: int, data: bytes) -> None:
        self.pieces.append((job_id, shard, data))

    async def end(self, job_id: str, shard: int) -> None:
        self.pieces.append((job_id, shard, b"<end>"))


def test_a_follower_ships_what_is_appended_then_the_rest_and_the_end(tmp_path: Path) -> None:
    path = tmp_path / "shard-1.log"
    path.write_bytes(b"an earlier attempt\n")
    live = RecordedLog()

    async def scenario() -> None:
        follower = LogFollower(path, path.stat().st_size, "j1", 1, live)
        with path.open("ab") as out:
            out.write(b"starting\n")
            out.flush()
            for _ in range(50):
                await asyncio.sleep(0.05)
                if live.pieces:
                    break
            assert live.pieces == [("j1", 1, b"starting\n")]
            out.write(b"last words")
        await follower.finish()

    asyncio.run(scenario())
    assert live.pieces == [("j1", 1, b"starting\n"), ("j1", 1, b"last words"), ("j1", 1, b"<end>")]
