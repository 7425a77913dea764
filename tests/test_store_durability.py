"""Nothing lost: screening processes killed with SIGKILL, and two reviewers writing at once.

Real processes throughout. To make 100+ kills affordable, a "zygote" process imports
``review.screening.session`` once and forks one child per screening session; each child opens the
store itself (no SQLite handle crosses a fork), screens through
:class:`review.screening.session.ScreeningSession`, and writes every decision id to its stdout
only after ``decide()`` has returned. The test kills the child with SIGKILL at random
points and then checks that every reported decision is in the reopened store.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from review.core.records import Record
from review.core.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL (POSIX)")

WORDS = ("co production municipality voluntary organisation welfare partnership citizen service care "
         "elderly youth network governance innovation public value trust sport culture housing").split()


def make_store(path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    recs = [Record(id=f"R{i:05d}", title=" ".join(rng.choices(WORDS, k=8)),
                   abstract=" ".join(rng.choices(WORDS, k=40)), year=2000 + i % 20) for i in range(n)]
    with Store(path) as s:
        s.add_records(recs)


# The zygote: reads "STORE REVIEWER SEED" lines, forks a screening child per line, prints
# "pid N" before the child's output and "exit STATUS" after the child is gone.
ZYGOTE = textwrap.dedent(r"""
    import os, random, sys
    from review.screening.session import ScreeningSession
    from review.core.store import Store

    def screen(store_path, reviewer, seed):
        rng = random.Random(seed)
        store = Store(store_path)
        session = ScreeningSession(store, None, reviewer)
        while (rec := session.next()) is not None:
            decision = rng.choice(["include", "exclude", "exclude", "maybe"])
            did = session.decide(rec.id, decision)
            os.write(1, f"{did} {rec.id} {decision} {reviewer}\n".encode())
        os.write(1, b"done\n")

    # Warm up the lazy first-use work of the ranking libraries once, on an in-memory store that
    # is closed before any fork (no SQLite file is ever open in the zygote).
    from review.core.records import Record
    warm = Store(":memory:")
    warm.add_records([Record(id=f"W{i}", title=f"warm up record {i % 7}", abstract="text " * i) for i in range(30)])
    session = ScreeningSession(warm, None, "warm")
    for _ in range(3):
        session.decide(session.next().id, "include" if _ == 0 else "exclude")
    warm.close()
    del session, warm

    for line in sys.stdin:
        store_path, reviewer, seed = line.split()
        pid = os.fork()
        if pid == 0:
            try:
                screen(store_path, reviewer, int(seed))
                code = 0
            except BaseException as e:
                os.write(2, f"child error: {e!r}\n".encode())
                code = 1
            os._exit(code)
        os.write(1, f"pid {pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        os.write(1, f"exit {status}\n".encode())
""")


def stored_decisions(path) -> dict[int, tuple[str, str, str]]:
    with Store(path) as s:
        assert s.integrity_ok()
        return {r["id"]: (r["record_id"], r["decision"], r["reviewer"])
                for r in s.query("SELECT id, record_id, decision, reviewer FROM decisions")}


def test_sigkill_after_decide_loses_nothing(tmp_path):
    store_path = tmp_path / "crash.sqlite"
    make_store(store_path, 400)  # a pool no reviewer finishes, and no child gets through before its kill
    zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, bufsize=0)
    rng = random.Random(20240611)
    reported: dict[int, tuple[str, str, str]] = {}
    kills = kills_mid_start = 0
    try:
        for i in range(150):
            if kills >= 100:
                break
            reviewer = f"rev{i % 12}"
            zygote.stdin.write(f"{store_path} {reviewer} {i}\n".encode())
            out = zygote.stdout
            head = out.readline().decode()
            assert head.startswith("pid "), head + zygote.stderr.read().decode()
            pid = int(head.split()[1])
            # Kill after the k-th returned decision (plus a random delay, so the kill can land in the
            # middle of the next decide()), or for k = 0 at a random moment while the child starts up.
            k = rng.choice([0, 1, 1, 2, 3, 5, 8])
            if k == 0:
                time.sleep(rng.uniform(0, 0.12))
            killed = False
            line = ""
            n_seen = 0
            while True:
                if n_seen >= k and not killed:
                    time.sleep(rng.choice([0, 0, rng.uniform(0, 0.02)]))
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:  # it finished the pool first
                        pass
                    killed = True
                line = out.readline().decode()
                if not line or line.startswith(("exit ", "done")):
                    break
                did, rid, decision, rv = line.split()
                reported[int(did)] = (rid, decision, rv)
                n_seen += 1
            if line.startswith("done"):
                line = out.readline().decode()
            assert line.startswith("exit "), line
            status = int(line.split()[1])
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                kills += 1
                kills_mid_start += n_seen == 0
            else:
                assert os.WEXITSTATUS(status) == 0, zygote.stderr.read().decode()
            # After every kill: each decision whose id the child reported is in the store, as reported.
            stored = stored_decisions(store_path)
            missing = {d: v for d, v in reported.items() if stored.get(d) != v}
            assert not missing, f"after kill {kills}: lost or changed decisions {missing}"
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    assert kills >= 100
    assert kills_mid_start > 0
    assert len(reported) >= 150
    # Decisions the store holds but no child reported are ones the kill interrupted between commit
    # and print: at most one per killed child, and each is a whole row of a real screening step.
    stored = stored_decisions(store_path)
    assert len(set(stored) - set(reported)) <= kills
    with Store(store_path) as s:
        # Every reviewer's sessions resumed where the last one stopped: no record decided twice.
        dup = s.query("SELECT reviewer, record_id, COUNT(*) n FROM decisions GROUP BY reviewer, record_id HAVING n > 1")
        assert not [tuple(r) for r in dup]


REVIEWER = textwrap.dedent(r"""
    import random, sys
    from review.screening.session import ScreeningSession
    from review.core.store import Store

    store_path, reviewer, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    session = ScreeningSession(Store(store_path, timeout=5.0), None, reviewer)
    while (rec := session.next()) is not None:
        decision = rng.choice(["include", "exclude", "exclude", "maybe"])
        did = session.decide(rec.id, decision)
        print(did, rec.id, decision, flush=True)
""")

# A third process importing records in large transactions, so the reviewers meet long-held write locks.
IMPORTER = textwrap.dedent(r"""
    import sys, time
    from review.core.records import Record
    from review.core.store import Store

    store = Store(sys.argv[1], timeout=5.0)
    deadline = time.monotonic() + float(sys.argv[2])
    batch = 0
    while time.monotonic() < deadline:
        recs = [Record(id=f"X{batch:04d}{i:04d}", title=f"imported {batch} {i}") for i in range(1500)]
        with store.transaction():
            store.add_records(recs)
            store.log("import", "batch", data={"batch": batch})
        batch += 1
    print(batch)
""")


def test_two_reviewers_and_an_importer_at_once(tmp_path):
    store_path = tmp_path / "dual.sqlite"
    n = 520
    make_store(store_path, n, seed=1)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    errs = {name: open(tmp_path / f"{name}.err", "w+") for name in ("alice", "bob")}
    reviewers = {name: subprocess.Popen([sys.executable, "-c", REVIEWER, str(store_path), name, str(seed)],
                                        stdout=subprocess.PIPE, stderr=errs[name], text=True, env=env)
                 for seed, name in enumerate(["alice", "bob"])}
    # The importer starts once both sessions have their pool (so imported records are not in it).
    first = {name: p.stdout.readline() for name, p in reviewers.items()}
    importer = subprocess.Popen([sys.executable, "-c", IMPORTER, str(store_path), "4"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = {}
    for name, p in reviewers.items():
        out = first[name] + p.stdout.read()
        p.wait(timeout=300)
        errs[name].seek(0)
        outputs[name] = (out, errs[name].read())
        errs[name].close()
    imp_out, imp_err = importer.communicate(timeout=300)
    for name, (_, err) in outputs.items():
        assert reviewers[name].returncode == 0 and "locked" not in err and not err.strip(), err
    assert importer.returncode == 0 and not imp_err.strip(), imp_err
    assert int(imp_out) >= 1

    with Store(store_path) as s:
        assert s.integrity_ok()
        rows = {r["id"]: (r["record_id"], r["decision"], r["reviewer"])
                for r in s.query("SELECT * FROM decisions")}
        assert s.count_records() == n + 1500 * int(imp_out)
    total = 0
    for name, (out, _) in outputs.items():
        mine = [line.split() for line in out.splitlines()]
        total += len(mine)
        # Each reviewer screened the whole pool (the imported records came later and are not in it) …
        assert sorted(rid for _, rid, _ in mine) == [f"R{i:05d}" for i in range(n)]
        # … and each decision it was told was saved is in the store, under its own name, unchanged.
        for did, rid, decision in mine:
            assert rows[int(did)] == (rid, decision, name)
    assert total >= 1000
    assert len(rows) == total  # nothing extra, nothing double


def test_write_lock_held_longer_than_busy_timeout_is_waited_out(tmp_path):
    """``transaction()`` retries BEGIN IMMEDIATE after the busy timeout, so a slow writer elsewhere is no error."""
    p = tmp_path / "lock.sqlite"
    make_store(p, 3)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys, time
            c = sqlite3.connect({str(p)!r}, isolation_level=None)
            sys.stdin.readline()
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT INTO meta(key, value) VALUES ('holder', 'x')")
            print("locked", flush=True)
            time.sleep(1.5)
            c.execute("COMMIT")
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    s = Store(p, timeout=0.1)  # opening the store writes too (schema check)
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.monotonic()
    with s:
        did = s.add_decision("R00000", "include", "ann")
        waited = time.monotonic() - t0
        assert holder.wait(timeout=30) == 0
        assert waited > 0.5  # it really had to wait for the other process
        assert s.current_decisions(reviewer="ann")["R00000"]["id"] == did
        assert s.meta("holder") == "x"


def test_reader_sees_only_committed_decisions(tmp_path):
    """A reader never sees half a transaction (WAL snapshot isolation)."""
    p = tmp_path / "iso.sqlite"
    make_store(p, 10)
    with Store(p) as writer, Store(p) as reader:
        with writer.transaction():
            for i in range(5):
                writer.add_decision(f"R{i:05d}", "include", "ann")
            assert reader.query("SELECT COUNT(*) FROM decisions")[0][0] == 0
        assert reader.query("SELECT COUNT(*) FROM decisions")[0][0] == 5
        with pytest.raises(RuntimeError):
            with writer.transaction():
                writer.add_decision("R00005", "include", "ann")
                raise RuntimeError("boom")
        assert reader.query("SELECT COUNT(*) FROM decisions")[0][0] == 5


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")
def test_each_decision_is_fsynced_before_it_returns(tmp_path):
    """Power-loss durability of a lone decision: an fsync of the WAL happens before add_decision returns."""
    p = tmp_path / "sync.sqlite"
    make_store(p, 20)
    script = textwrap.dedent(f"""
        import os
        from review.core.store import Store
        s = Store({str(p)!r})
        for i in range(20):
            s.add_decision(f"R{{i:05d}}", "include", "ann")
            os.write(2, b"RETURNED\\n")
        with s.transaction():  # inside a caller's transaction: one sync for the batch
            for i in range(20):
                s.log("test", "bulk")
        os.write(2, b"BULK\\n")
    """)
    trace = tmp_path / "trace.txt"
    subprocess.run(["strace", "-f", "-e", "trace=fsync,fdatasync,write", "-o", str(trace),
                    sys.executable, "-c", script], check=True, capture_output=True)
    syncs_between, n = [], 0
    for line in trace.read_text().splitlines():
        if "fsync(" in line or "fdatasync(" in line:
            n += 1
        elif "RETURNED" in line or "BULK" in line:
            syncs_between.append(n)
            n = 0
    assert len(syncs_between) == 21
    assert all(k >= 1 for k in syncs_between[:20]), syncs_between
    assert syncs_between[20] == 0  # the store's default (NORMAL) for other writes: no fsync per commit
