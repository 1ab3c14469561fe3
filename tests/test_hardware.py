"""qworkbench.hardware: local testing mode on FakeManilaV2 against Aer and Statevector,
the job store, and credentials handling (no test here touches the user's home or the
network; ``ibm`` tests need a real account and are skipped without one)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

from qworkbench import Circuit, PauliSum

pytest.importorskip("qiskit_ibm_runtime")

from qworkbench import hardware  # noqa: E402
from qworkbench.hardware import (  # noqa: E402
    CredentialsError,
    JobNotFoundError,
    JobRecord,
    JobStore,
)

SHOTS = 4000
TOKEN = "qwb-test-token-7f3a9c1e5b2d4068a9e1c3f5b7d9e1a3"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Job store and home under tmp_path; no IBM account from the environment."""
    monkeypatch.setenv("QWB_HOME", str(tmp_path / "qwb"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # the runtime fixes its saved-account path at import; point it under tmp_path too
    from qiskit_ibm_runtime.accounts import management

    monkeypatch.setattr(
        management,
        "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE",
        str(tmp_path / "home" / ".qiskit" / "qiskit-ibm.json"),
    )
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    warnings.filterwarnings("ignore", category=UserWarning, module="qiskit_ibm_runtime")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="qiskit_ibm_runtime")


def bell() -> Circuit:
    c = Circuit(2)
    c.h(0)
    c.cx(0, 1)
    return c


def _aer_counts(circuit: Circuit, shots: int, seed: int) -> dict:
    """Aer's noisy simulation of FakeManilaV2 on the same ISA circuit."""
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    backend = FakeManilaV2()
    qc = circuit.to_qiskit()
    qc.measure_all()
    isa = hardware.transpile([qc], backend, seed=0)[0]
    sim = AerSimulator.from_backend(backend, seed_simulator=seed)
    return sim.run(isa, shots=shots).result().get_counts()


def _close(counts: dict, reference: dict, shots: int, ref_shots: int) -> None:
    """Every outcome's frequency within 5 standard deviations of the reference's."""
    for key in set(counts) | set(reference):
        p = counts.get(key, 0) / shots
        q = reference.get(key, 0) / ref_shots
        pooled = (p + q) / 2
        sigma = np.sqrt(max(pooled * (1 - pooled), 1e-4) * (1 / shots + 1 / ref_shots))
        assert abs(p - q) < 5 * sigma, (key, counts, reference)


# -- sampler ------------------------------------------------------------------------------
def test_bell_counts_agree_with_aer_noisy_simulation():
    record = hardware.submit(bell(), "fake_manila", shots=SHOTS, seed=3)
    assert record.status == "DONE" and record.local and record.primitive == "sampler"
    counts = hardware.retrieve(record.id)
    assert sum(counts.values()) == SHOTS
    assert set(counts) <= {"00", "01", "10", "11"}
    # mostly the Bell outcomes, with the fake backend's noise on top
    assert counts.get("00", 0) + counts.get("11", 0) > 0.85 * SHOTS
    assert counts.get("01", 0) + counts.get("10", 0) > 0
    _close(counts, _aer_counts(bell(), SHOTS, seed=11), SHOTS, SHOTS)


def test_counts_put_qubit_0_rightmost():
    c = Circuit(3)
    c.x(0)
    counts = hardware.retrieve(hardware.submit(c, "fake_manila", shots=500, seed=1).id)
    assert max(counts, key=counts.get) == "001"
    _close(counts, _aer_counts(c, 4000, seed=2), 500, 4000)


def test_v2_primitives_give_the_same_distribution(monkeypatch):
    """Runtimes before 0.50 have only SamplerV2/EstimatorV2: the factory's other branch."""
    from qworkbench.hardware import _primitives

    monkeypatch.setattr(_primitives, "primitive_family", lambda: "v2")
    record = hardware.submit(bell(), "fake_manila", shots=SHOTS, seed=4)
    assert record.options["family"] == "v2"
    _close(hardware.retrieve(record.id), _aer_counts(bell(), SHOTS, seed=12), SHOTS, SHOTS)


def test_aer_backend_is_noiseless():
    counts = hardware.retrieve(hardware.submit(bell(), "aer", shots=1000, seed=2).id)
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1000


# -- estimator ----------------------------------------------------------------------------
def _entangled() -> Circuit:
    c = Circuit(2)
    c.ry(0.9, 0)
    c.cx(0, 1)
    c.ry(0.4, 1)
    return c


OBSERVABLE = [("ZZ", 1.0), ("IZ", 0.5), ("ZI", -0.3)]  # IZ: Z on qubit 0


def _z_expectation(counts: dict) -> float:
    shots = sum(counts.values())
    total = 0.0
    for label, coeff in OBSERVABLE:
        for bits, n in counts.items():
            parity = sum(int(b) for b, p in zip(bits, label) if p == "Z") % 2
            total += coeff * (-1) ** parity * n / shots
    return total


def test_expectation_values_agree_with_aer_and_statevector():
    from qiskit.quantum_info import SparsePauliOp, Statevector

    ideal = Statevector(_entangled().to_qiskit()).expectation_value(
        SparsePauliOp.from_list(OBSERVABLE)
    )
    record = hardware.submit(
        _entangled(), "fake_manila", shots=SHOTS, seed=5, observables=OBSERVABLE
    )
    assert record.primitive == "estimator" and record.options["resilience_level"] == 0
    value = hardware.retrieve(record.id)
    assert isinstance(value, float)
    noisy = _z_expectation(_aer_counts(_entangled(), 20000, seed=9))
    # shot noise of a sum of three +-1 terms, 4000 shots: std < 0.03
    assert abs(value - noisy) < 0.1
    assert abs(value - ideal.real) < 0.15  # noise bias of the fake backend is small here
    exact = hardware.retrieve(
        hardware.submit(_entangled(), "aer", shots=20000, seed=5, observables=OBSERVABLE).id
    )
    assert abs(exact - ideal.real) < 0.05


@pytest.mark.slow  # ~4 s
def test_mitigation_moves_a_noisy_energy_towards_the_ideal_one():
    c = Circuit(2)
    c.h(0)
    for _ in range(4):  # a deep circuit: raw bias well above shot noise
        c.cx(0, 1)
        c.cx(0, 1)
    c.cx(0, 1)
    observable = PauliSum.from_list([("ZZ", 1.0), ("XX", 1.0)])  # ideal: 2
    raw = hardware.retrieve(hardware.submit(c, "fake_manila", shots=SHOTS, seed=1,
                                            observables=observable).id)  # fmt: skip
    if hardware.primitive_family() != "executor":
        pytest.skip("V2 primitives ignore mitigation in local testing mode")
    mitigated = hardware.retrieve(hardware.submit(c, "fake_manila", shots=SHOTS, seed=1,
                                                  observables=observable,
                                                  resilience_level=2).id)  # fmt: skip
    assert raw < 1.9
    options = hardware.jobs()[-1].options  # the twirling the level needs, written out
    assert (options["twirl_gates"], options["twirl_measure"]) == (True, True)
    assert (hardware.jobs()[0].options["twirl_measure"]) is False
    assert abs(mitigated - 2.0) < abs(raw - 2.0)


def test_several_circuits_give_a_list():
    values = hardware.retrieve(
        hardware.submit([bell(), bell()], "aer", shots=2000, seed=1, observables=["ZZ", "XX"]).id
    )
    assert values == pytest.approx([1.0, 1.0])
    record = hardware.submit([bell(), bell()], "aer", shots=100, seed=1, mode="batch")
    assert record.mode == "batch" and record.num_circuits == 2
    counts = hardware.retrieve(record.id)
    assert len(counts) == 2 and all(sum(c.values()) == 100 for c in counts)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        hardware.submit(bell(), "fake_manila", mode="weekly")
    with pytest.raises(ValueError, match="resilience_level applies to estimator"):
        hardware.submit(bell(), "fake_manila", resilience_level=1)
    with pytest.raises(ValueError, match="twirling measurements"):
        hardware.submit(bell(), "aer", observables="ZZ", resilience_level=1, twirling=False)
    with pytest.raises(ValueError, match="unknown fake backend 'fake_nowhere'"):
        hardware.submit(bell(), "fake_nowhere")
    with pytest.raises(ValueError, match="observable acts on 3 qubits"):
        hardware.submit(bell(), "aer", observables="ZZZ")
    from qworkbench import Parameter

    c = Circuit(1)
    c.rx(Parameter("theta"), 0)
    with pytest.raises(ValueError, match="theta"):
        hardware.submit(c, "aer")


# -- job store ----------------------------------------------------------------------------
def test_job_store_round_trips_records_and_results(tmp_path):
    record = hardware.submit(bell(), "fake_manila", shots=300, seed=1, tags=("paper", "bell"))
    store = JobStore()
    assert store.path == tmp_path / "qwb" / "jobs.jsonl"
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["QUEUED", "DONE"]
    assert store.get(record.id) == record
    assert JobRecord.from_json(record.to_json()) == record
    assert record.tags == ("paper", "bell") and len(record.circuit_hash) == 64
    # the saved result is a PrimitiveResult again (RuntimeDecoder)
    saved = store.load_result(record.id)
    assert type(saved).__name__ == "PrimitiveResult"
    assert dict(saved[0].join_data().get_counts()) == hardware.retrieve(record.id)
    # the same circuit hashes the same; a different one does not
    again = hardware.submit(bell(), "fake_manila", shots=300, seed=2)
    assert again.circuit_hash == record.circuit_hash and again.id != record.id
    other = hardware.submit(_entangled(), "fake_manila", shots=300, seed=2)
    assert other.circuit_hash != record.circuit_hash
    assert [r.id for r in hardware.jobs()] == [record.id, again.id, other.id]


def test_torn_last_line_is_skipped_and_the_next_append_starts_a_new_line(tmp_path):
    store = JobStore(tmp_path / "s")
    first = JobRecord(id="a1", backend="fake_manila", mode="job", created="t", circuit_hash="h")
    store.append(first)
    with store.path.open("a") as f:
        f.write('{"id": "torn", "backe')
    assert [r.id for r in store.records()] == ["a1"]
    store.append(first.replace(id="b2", status="DONE"))
    assert [r.id for r in store.records()] == ["a1", "b2"]


_WRITER = """
import sys
from qworkbench.hardware._store import JobRecord, JobStore
store = JobStore(sys.argv[1])
i = 0
while True:
    store.append(JobRecord(id=f"job-{i}", backend="fake_manila", mode="job", created="t",
                           circuit_hash="0" * 64, tags=("x" * 3000,)))
    i += 1
"""


def test_store_survives_a_writer_killed_mid_write(tmp_path):
    root = tmp_path / "kill"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(root)])
    path = root / "jobs.jsonl"
    try:
        for _ in range(3000):  # wait (at most ~60 s) until it has written a good number
            if path.exists() and path.read_bytes().count(b"\n") >= 200:
                break
            try:
                proc.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"writer exited early with {proc.returncode}")
    finally:
        proc.kill()
        proc.wait()
    text = path.read_text()
    complete = text.split("\n")[:-1]  # after the last newline: at most a torn tail
    assert len(complete) >= 200
    for line in complete:
        json.loads(line)  # no truncated line among the complete ones
    store = JobStore(root)
    ids = [r.id for r in store.records()]
    assert ids == [f"job-{i}" for i in range(len(complete))]
    store.append(JobRecord(id="after", backend="aer", mode="job", created="t", circuit_hash="h"))
    assert [r.id for r in store.records()][-1] == "after"
    assert len(store.records()) == len(complete) + 1


_APPENDER = """
import os, sys, time
from qworkbench.hardware._store import JobRecord, JobStore
store = JobStore(sys.argv[1])
while not os.path.exists(os.path.join(sys.argv[1], "go")):  # start together
    time.sleep(0.005)
for i in range(800):
    store.append(JobRecord(id=f"{sys.argv[2]}-{i}", backend="aer", mode="job", created="t",
                           circuit_hash="0" * 64, tags=(sys.argv[2] * 2000,)))
"""


def test_concurrent_writers_never_interleave(tmp_path):
    """Lines longer than a pipe buffer, from two processes at once: each stays whole."""
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(tmp_path), name])
             for name in ("a", "b")]  # fmt: skip
    (tmp_path / "go").touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    lines = (tmp_path / "jobs.jsonl").read_text().splitlines()
    assert len(lines) == 1600
    records = [JobRecord.from_json(line) for line in lines]
    for name in ("a", "b"):
        mine = [r.id for r in records if r.id.startswith(name + "-")]
        assert mine == [f"{name}-{i}" for i in range(800)]


class _FakeJob:
    def __init__(self, status, result=None):
        self._status, self._result = status, result

    def status(self):
        return self._status

    def result(self):
        return self._result


def test_retrieve_of_a_remote_job_updates_its_record(monkeypatch):
    """The remote path with a stand-in service: pending, then done (result saved),
    then read from disk without asking the service again."""
    from qiskit.primitives import BitArray, DataBin, PrimitiveResult, SamplerPubResult

    from qworkbench.hardware import _submit

    store = JobStore()
    store.append(JobRecord(id="d1remote", backend="ibm_fez", mode="batch", created="t",
                           circuit_hash="h", status="QUEUED", local=False))  # fmt: skip
    counts = {"00": 40, "11": 55, "01": 5}
    result = PrimitiveResult(
        [SamplerPubResult(DataBin(meas=BitArray.from_counts(counts, num_bits=2)))]
    )
    jobs = {"d1remote": _FakeJob("RUNNING")}

    class Service:
        def job(self, job_id):
            return jobs[job_id]

    monkeypatch.setattr(_submit, "runtime_service", Service)
    with pytest.raises(hardware.HardwareError, match="has not finished \\(status RUNNING\\)"):
        hardware.retrieve("d1remote")
    assert store.get("d1remote").status == "RUNNING"
    jobs["d1remote"] = _FakeJob("DONE", result)
    assert hardware.retrieve("d1remote") == counts
    assert store.get("d1remote").status == "DONE"
    assert [r.status for r in store.records()] == ["QUEUED", "RUNNING", "DONE"]

    def unreachable():
        raise AssertionError("the saved result should be used")

    monkeypatch.setattr(_submit, "runtime_service", unreachable)
    assert hardware.retrieve("d1remote") == counts
    jobs["e2failed"] = _FakeJob("ERROR")
    store.append(JobRecord(id="e2failed", backend="ibm_fez", mode="job", created="t",
                           circuit_hash="h"))  # fmt: skip
    monkeypatch.setattr(_submit, "runtime_service", Service)
    with pytest.raises(hardware.HardwareError, match="ended with status ERROR"):
        hardware.retrieve("e2failed")


def test_retrieve_unknown_id_is_a_clear_error():
    with pytest.raises(JobNotFoundError, match="no job 'no-such-job' in the job store"):
        hardware.retrieve("no-such-job")
    with pytest.raises(ValueError, match="not a job id"):
        hardware.retrieve("../../etc/passwd")


# -- credentials --------------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _files_text(root: Path) -> str:
    return "".join(
        p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()
    ) if root.exists() else ""  # fmt: skip


def test_token_never_leaks_when_ibm_cannot_be_reached(
    monkeypatch, no_network, caplog, capsys, tmp_path
):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    monkeypatch.setenv("QISKIT_IBM_RUNTIME_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CredentialsError) as info:
        hardware.submit(bell(), "ibm_fez", shots=100)
    exc = info.value
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert "save_account" in str(exc) and "QISKIT_IBM_TOKEN" in str(exc)
    assert exc.__cause__ is None  # the runtime's exception is not chained onto ours
    out = capsys.readouterr()
    for where in (str(exc), repr(exc), text, caplog.text, out.out, out.err,
                  _files_text(tmp_path)):  # fmt: skip
        assert TOKEN not in where
    assert not JobStore().records()  # nothing stored for a job that never left


def test_missing_account_says_how_to_save_one(no_network):
    with pytest.raises(CredentialsError, match="save_account"):
        hardware.resolve_backend("ibm_fez")


def test_bad_channel_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    monkeypatch.setenv("QISKIT_IBM_CHANNEL", "ibm_quantum")
    with pytest.raises(CredentialsError, match="ibm_quantum_platform, ibm_cloud") as info:
        hardware.resolve_backend("ibm_fez")
    assert TOKEN not in str(info.value)


def test_cli_submit_to_real_backend_fails_clearly_without_leaking(tmp_path):
    qasm = tmp_path / "bell.qasm"
    qasm.write_text(bell().to_qasm(version=2))
    env = {
        **os.environ,
        "QISKIT_IBM_TOKEN": TOKEN,
        "QISKIT_IBM_RUNTIME_LOG_LEVEL": "DEBUG",
        # an unreachable proxy on the loopback: no request leaves this machine
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "qworkbench", "submit", str(qasm), "--backend", "ibm_fez"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "save_account" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN not in _files_text(tmp_path)


# read before the fixture hides them
_REAL_ACCOUNT = {
    name: os.environ[name]
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL")
    if os.environ.get(name)
}


@pytest.mark.ibm
@pytest.mark.skipif(
    "QISKIT_IBM_TOKEN" not in _REAL_ACCOUNT, reason="needs QISKIT_IBM_TOKEN (an IBM account)"
)
def test_real_backend_round_trip(monkeypatch):  # pragma: no cover - needs an account
    for name, value in _REAL_ACCOUNT.items():
        monkeypatch.setenv(name, value)
    service = hardware.runtime_service()
    backend = service.least_busy(operational=True, simulator=False)
    record = hardware.submit(bell(), backend.name, shots=100)
    assert not record.local and record.status == "QUEUED"
    assert hardware.jobs()[-1].id == record.id


# -- command line -------------------------------------------------------------------------
def _cli(*args):
    from typer.testing import CliRunner

    from qworkbench.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_submit_jobs_retrieve(tmp_path):
    qasm = tmp_path / "bell.qasm"
    qasm.write_text(bell().to_qasm(version=3))
    done = _cli("submit", str(qasm), "--backend", "fake_manila", "--shots", "800",
                "--tag", "cli", "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    record = JobRecord.from_json(done.output.strip().splitlines()[-1])
    assert record.tags == ("cli",) and record.shots == 800
    estimated = _cli("submit", str(qasm), "--backend", "aer", "--observable",
                     '{"ZZ": 1.0, "XX": 0.5}', "--json")  # fmt: skip
    assert estimated.exit_code == 0, estimated.output
    listing = _cli("jobs")
    assert listing.exit_code == 0
    assert record.id in listing.output and "estimator" in listing.output
    counts = json.loads(_cli("retrieve", record.id).output)
    assert sum(counts.values()) == 800 and counts.get("00", 0) + counts.get("11", 0) > 600
    energy_id = JobRecord.from_json(estimated.output.strip().splitlines()[-1]).id
    assert json.loads(_cli("retrieve", energy_id).output) == pytest.approx(1.5)
    missing = _cli("retrieve", "no-such-job")
    assert missing.exit_code == 1 and "no job 'no-such-job'" in missing.output
    bad = _cli("submit", str(qasm), "--backend", "fake_manila", "--observable", "[[1, 2, 3]]")
    assert bad.exit_code == 2 and "--observable" in bad.output


def test_cli_qas_submit_writes_ideal_noisy_mitigated(tmp_path):
    """A run directory whose best circuit prepares H2's Hartree-Fock state: its ideal
    energy is the Hartree-Fock energy."""
    from tasks import get_task

    task = get_task("h2")
    run = tmp_path / "h2-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"env": {"task": "h2"}, "agent": "crlqas"}))
    hf = Circuit(task.num_qubits)
    for q, bit in enumerate(reversed(task.hf_state)):  # qubit 0 rightmost
        if bit == "1":
            hf.x(q)
    (run / "best_circuit.qasm").write_text(hf.to_qasm(version=2))
    result = _cli("qas", "submit", str(run), "--backend", "fake_manila", "--shots", "2000")
    assert result.exit_code == 0, result.output
    out = json.loads((run / "hardware-fake_manila.json").read_text())
    assert out["task"] == "h2" and out["resilience_level"] == 1
    assert out["ideal"] == pytest.approx(task.hf_energy, abs=1e-9)
    assert out["exact_energy"] == pytest.approx(task.exact_energy)
    # readout noise lifts the raw energy of a basis state; mitigation brings it back
    assert abs(out["noisy"] - out["ideal"]) < 0.3
    assert abs(out["mitigated"] - out["ideal"]) < abs(out["noisy"] - out["ideal"])
    assert {r.id for r in hardware.jobs()} == {out["noisy_job"], out["mitigated_job"]}


def test_a_circuit_wider_than_the_backend_is_one_line(tmp_path):
    """Issue 16 item 11: 10 qubits on fake_manila (5) was a 75-line TranspilerError."""
    wide = Circuit(10).h(0).cx(0, 9)
    with pytest.raises(ValueError, match="the circuit has 10 qubits; backend fake_manila has 5"):
        hardware.submit(wide, "fake_manila")
    assert hardware.jobs() == []  # nothing was stored
    qasm = tmp_path / "wide.qasm"
    qasm.write_text(wide.to_qasm(version=2))
    result = _cli("submit", str(qasm), "--backend", "fake_manila")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "qwb submit: error: the circuit has 10 qubits; backend fake_manila has 5"
    )
    run = tmp_path / "tfim6-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"env": {"task": "tfim6"}, "agent": "random"}))
    (run / "best_circuit.qasm").write_text(Circuit(6).h(0).cx(0, 5).to_qasm(version=2))
    result = _cli("qas", "submit", str(run), "--backend", "fake_manila")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "qwb qas submit: error: the circuit has 6 qubits; backend fake_manila has 5"
    )
    assert not list(run.glob("hardware-*.json"))
