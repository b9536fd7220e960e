"""Exchange Test & Enable benchmark (issue 23): mailboxes per second and token requests through the
benchmark's latency relay, against the test Graph and EWS servers and the test token endpoint. Prints its figures.

    .venv/bin/python benchmarks/exchange_bench.py [--mailboxes 1000] [--sequential-mailboxes 100]
        [--concurrency 32] [--latency-ms 50] [--throttle-every 5] [--ews-auth ntlm|basic]

Every mailbox is a full Test & Enable through the real TestRunner, results written to a real SQLite file:
incoming, outgoing and appointments, contacts and tasks, each a probe on its own HTTPS connection.

- Exchange Online through Microsoft Graph: one Exchange Online profile, OAuth app-only (client secret); the
  token endpoint, then per mailbox the Inbox and one message id, Sent Items, the calendar, contacts and To Do.
- Exchange Server through EWS: one Exchange Server profile whose own credentials (a service account with
  ApplicationImpersonation) act for each mailbox; NTLM (pyspnego on both sides) or Basic; GetFolder on the
  Inbox, on Sent Items and Drafts, and on the calendar, contacts and tasks folders.
- A 429 storm on Graph: the server answers every --throttle-every'th request (20% by default) 429 with
  Retry-After: 1. Counted per mailbox: reported as failed (target 0), reported as throttled (a direction
  left Not Run with a warning), and retried to success (a 429 waited out, then Success).

Each kind runs sequentially (concurrency 1) on the first --sequential-mailboxes (a round trip through the
relay is 2 x --latency-ms, and a mailbox takes about a dozen), then at --concurrency on all of them. Every
server, the token endpoint included, sits behind a LatencyRelay (benchmarks/latency_relay.py): TLS goes
through it end to end. "Token requests" is what the token endpoint received during the run (target: one per
profile per run). Busy CPU is read from /proc/stat, to say whether the machine or the network bounds a figure.

`pytest benchmarks/exchange_bench.py -s` runs the same thing (this folder is not in the test run).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the Graph and EWS servers, the token endpoint
sys.path.insert(0, str(ROOT / "benchmarks"))  # latency_relay.py: the relay, the busy CPU

from latency_relay import LatencyRelay, timed  # noqa: E402

TENANT_DOMAIN_MAILBOX = "bench{:04d}@example.com"  # Graph: mailboxes of the test tenant
EWS_MAILBOX = "bench{:04d}@contoso.com"  # EWS: mailboxes of the on-premises organisation
_USER_PATH = re.compile(r"^/v1\.0/users/([^/]+)/")


class World:
    """The test token endpoint, Graph and EWS servers, each behind a relay; the CA trusted in this process."""

    def __init__(self, folder: Path, count: int, latency_ms: float):
        from support.ews import SERVICE_PASSWORD, SERVICE_USER
        from support.ews_server import EwsAccount, EwsMailbox, EwsServer
        from support.graph import GRAPH_CLIENT_ID, GRAPH_SECRET
        from support.graph_server import GraphMailbox, GraphServer
        from support.oauth import TENANT_DOMAIN, TENANT_ID
        from support.oauth_endpoint import AppRegistration, Registry, TokenEndpoint
        from support.oauth_tokens import GRAPH_SYNC_PERMISSIONS, TokenAuthority, make_ca, make_server_certificate

        ca = make_ca(folder, "exchange bench CA")
        os.environ["SSL_CERT_FILE"] = str(ca.cert)  # trust the test CA in this process
        os.environ.pop("SSL_CERT_DIR", None)
        certificate = make_server_certificate(folder, ca, "exchange-bench")
        authority = TokenAuthority()
        registry = Registry()
        registry.add_app(AppRegistration(GRAPH_CLIENT_ID, TENANT_ID, TENANT_DOMAIN, name="Mailbox sync (Graph)",
                                         secret=GRAPH_SECRET, granted=set(GRAPH_SYNC_PERMISSIONS)))
        self.client_id, self.secret, self.tenant = GRAPH_CLIENT_ID, GRAPH_SECRET, TENANT_ID
        self.service_user, self.service_password = SERVICE_USER, SERVICE_PASSWORD
        self.graph_addresses = [TENANT_DOMAIN_MAILBOX.format(i) for i in range(count)]
        self.ews_addresses = [EWS_MAILBOX.format(i) for i in range(count)]
        self.endpoint = TokenEndpoint(authority, certificate, registry).start()
        self.graph = GraphServer(authority, certificate, TENANT_ID,
                                 [GraphMailbox(a) for a in self.graph_addresses]).start()
        self.ews = EwsServer(certificate, [EwsAccount(SERVICE_USER, SERVICE_PASSWORD, impersonates={"*"})],
                             [EwsMailbox(a) for a in self.ews_addresses], folder).start()
        self.relays: list[LatencyRelay] = []
        self.ports = {name: self._relayed(server.port, latency_ms)
                      for name, server in (("token", self.endpoint), ("graph", self.graph), ("ews", self.ews))}

    def _relayed(self, port: int, latency_ms: float) -> int:
        if latency_ms <= 0:
            return port
        relay = LatencyRelay(port, latency_ms / 1000).start()
        self.relays.append(relay)
        return relay.port

    @property
    def token_url(self) -> str:
        return f"https://127.0.0.1:{self.ports['token']}/{self.tenant}/oauth2/v2.0/token"

    def token_requests(self) -> int:
        return sum(self.endpoint.request_counts().values())

    def stop(self) -> None:
        for relay in self.relays:
            relay.stop()
        for server in (self.ews, self.graph, self.endpoint):
            server.stop()


# ---------------------------------------------------------------- the store


def seed(store, profile_values: dict, addresses: list[str]) -> list[int]:
    """One profile (its secrets through the services, encrypted), then a user per address with its mailbox on the
    profile, all three directions server-side sync (one import, as test_bench.py seeds), approved."""
    from support import builders

    from mailbox_tui.store import services
    from mailbox_tui.store.exchange import import_document
    from mailbox_tui.store.models import Mailbox

    profile = builders.imap_profile(store, profile_values.pop("name"), **profile_values)
    users = [{"fullname": f"{profile.name} {i:04d}", "internalemailaddress": a} for i, a in enumerate(addresses)]
    boxes = [{"regarding": {"user": a}, "emailserverprofile": profile.name, "allowemailconnectortousecredentials": False,
              "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2, "actdeliverymethod": 1}
             for a in addresses]
    report = import_document(store, {"users": users, "mailboxes": boxes})
    assert report.written and not report.errors, report.findings[:3]
    ids = [m.id for m in Mailbox.select(Mailbox.id).where(Mailbox.profile == profile.id).order_by(Mailbox.id)]
    assert len(ids) == len(addresses), (len(ids), len(addresses))
    services.set_approval(store, ids, True)  # A2: approval is required by default
    return ids


def profiles(world: World) -> dict[str, dict]:
    from mailbox_tui.domain.options import AuthMethod, ServerType
    from mailbox_tui.domain.records import PasswordEdit

    graph_url = f"https://127.0.0.1:{world.ports['graph']}"
    ews_url = f"https://127.0.0.1:{world.ports['ews']}/EWS/Exchange.asmx"
    # The per-host bound is the profile's Maximum Concurrent Connections: let the runner's concurrency decide.
    common = dict(max_concurrent_connections=300, timeout_seconds=30)
    return {
        "graph": dict(name="Exchange Online", server_type=ServerType.EXCHANGE_ONLINE_HYBRID,
                      incoming_location=graph_url, outgoing_location=graph_url, auth_method=AuthMethod.OAUTH,
                      oauth_client_id=world.client_id, oauth_client_secret=PasswordEdit(new=world.secret),
                      oauth_tenant_id=world.tenant, oauth_token_endpoint=world.token_url, **common),
        "ews": dict(name="Exchange Server", server_type=ServerType.EXCHANGE, incoming_location=ews_url,
                    outgoing_location=ews_url, auth_method=AuthMethod.PROFILE_CREDENTIALS,
                    username=world.service_user, password=PasswordEdit(new=world.service_password), **common),
    }


# ---------------------------------------------------------------- measuring


def timed_run(store, ids: list[int], concurrency: int, world: World, server, *, fail_on_failure: bool = True) -> dict:
    from mailbox_tui.mailtest.runner import TestRunner

    world.endpoint.reset()
    report, run = timed(lambda: TestRunner(store, concurrency=concurrency).run(ids), len(ids))
    if fail_on_failure and (report.failures or report.not_run or report.untested):
        bad = next((o for o in report.outcomes if o.failed or not o.tested), None)
        raise SystemExit(f"benchmark run had failures: {report.failures} failed, {len(report.not_run)} not run; "
                         f"first: {bad.as_dict()['alerts'] if bad else report.not_run[:3]}")
    return {**run, "report": report, "tokens": world.token_requests(), "requests": len(server.requests)}


def timed_cli_run(store, ids: list[int], concurrency: int, world: World, server) -> dict:
    """The same run as an admin starts it, `mailbox-tui test --concurrency N EMAIL…`, in a process of its own:
    the runner then no longer shares this process's interpreter (and its one GIL) with the test servers and
    the relays. Its CPU is the child's; a mailbox left without Success in every direction fails the run."""
    import subprocess

    from mailbox_tui.domain.options import TestStatus
    from mailbox_tui.store.models import Mailbox

    emails = [m.email for m in Mailbox.select(Mailbox.email).where(Mailbox.id.in_(ids)).order_by(Mailbox.id)]
    world.endpoint.reset()
    done, run = timed(lambda: subprocess.run(
        [sys.executable, "-m", "mailbox_tui", "--db", store.url, "test", "--concurrency", str(concurrency), *emails],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), len(ids), resource.RUSAGE_CHILDREN)
    good = TestStatus.SUCCESS
    bad = (Mailbox.select().where(Mailbox.id.in_(ids) & ((Mailbox.incoming_status != good)
                                                          | (Mailbox.outgoing_status != good)
                                                          | (Mailbox.act_status != good))).count())
    if done.returncode != 0 or bad:
        raise SystemExit(f"benchmark run had failures: exit {done.returncode}, {bad} mailboxes not Success; "
                         f"{done.stderr.strip().splitlines()[-3:]}")
    return {**run, "tokens": world.token_requests(), "requests": len(server.requests),
            "runner": "mailbox-tui test, a process of its own"}


def _line(label: str, run: dict) -> str:
    busy = run["machine_busy"]
    bound = (f"CPU-bound: the machine's {run['cores']} cores {busy:.0%} busy" if busy >= 0.85
             else f"CPU {busy:.0%} busy")
    return (f"  {label:17} {run['count']:5} mailboxes in {run['seconds']:6.1f} s = {run['rate']:6.1f} mailboxes/s; "
            f"token requests: {run['tokens']}; HTTP requests at the server: {run['requests'] / run['count']:.1f} "
            f"per mailbox; {bound} ({run.get('runner', 'this process - runner, servers, relays')}: "
            f"{run['client_cpu']:.2f} cores, {run['client_cpu'] * run['seconds'] / run['count'] * 1000:.0f} ms CPU "
            "per mailbox)")


def storm_figures(store, run: dict, graph) -> dict:
    """Per mailbox of the storm run: failed, throttled (a direction Not Run, deferred), retried to success."""
    from mailbox_tui.domain.options import TestStatus
    from mailbox_tui.store.models import Mailbox

    report = run["report"]
    hit: set[str] = set()
    refused = 0
    for request in graph.requests:
        if request.status == 429:
            refused += 1
            match = _USER_PATH.match(request.path)
            if match:
                hit.add(unquote(match.group(1)).lower())
    failed = [o for o in report.outcomes if o.failed]
    throttled = [o for o in report.outcomes if not o.failed
                 and any(c.probe is not None and c.probe.deferred for c in o.checks.values())]
    retried = [o for o in report.outcomes if not o.failed and o not in throttled and o.email.lower() in hit
               and all(c.status == TestStatus.SUCCESS for c in o.checks.values())]
    ids = [o.mailbox_id for o in report.outcomes]
    stored_failed = (Mailbox.select().where(Mailbox.id.in_(ids) & (
        (Mailbox.incoming_status == TestStatus.FAILURE) | (Mailbox.outgoing_status == TestStatus.FAILURE)
        | (Mailbox.act_status == TestStatus.FAILURE))).count())
    return {"refused": refused, "share": refused / max(1, len(graph.requests)), "hit": len(hit),
            "failed": len(failed), "stored_failed": stored_failed, "throttled": len(throttled),
            "retried": len(retried), "not_run": len(report.not_run),
            "first_failure": failed[0].as_dict()["alerts"][:1] if failed else None}


def run_kind(title: str, store, ids: list[int], world: World, server, args, reset) -> dict:
    """Sequential on the first --sequential-mailboxes, then concurrent on all: printed, and returned."""
    reset()
    timed_run(store, ids[:10], 8, world, server)  # warm up: imports, the first connections
    timing = timed_cli_run if args.runner_process else timed_run
    reset()
    seq = timing(store, ids[:args.sequential_mailboxes], 1, world, server)
    reset()
    con = timing(store, ids, args.concurrency, world, server)
    print(f"\n{title}")
    print(_line("sequential (1):", seq))
    print(_line(f"concurrent ({args.concurrency}):", con))
    print(f"  speed-up: {con['rate'] / seq['rate']:.1f}x (target >= 15x); token requests per run: "
          f"{seq['tokens']} sequential, {con['tokens']} concurrent")
    return {"sequential": seq, "concurrent": con}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--sequential-mailboxes", type=int, default=100,
                        help="how many the sequential runs cover (at 50 ms each way a mailbox takes over a second)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added each way by the relays (0: none)")
    parser.add_argument("--throttle-every", type=int, default=5, help="the storm: every nth Graph request 429 (0: skip)")
    parser.add_argument("--ews-auth", choices=("ntlm", "basic"), default="ntlm", help="what the EWS server offers")
    parser.add_argument("--runner-process", action="store_true",
                        help="time `mailbox-tui test` in a process of its own (as an admin runs it) instead of the "
                             "TestRunner inside this process, beside the servers and relays")
    parser.add_argument("--only", choices=("graph", "ews", "storm"), action="append",
                        help="run only these parts (repeatable; default: all)")
    args = parser.parse_args(argv)
    parts = set(args.only or ("graph", "ews", "storm"))

    from cryptography.fernet import Fernet

    from mailbox_tui.store.database import Store

    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-exchange-bench-"))
    world = World(folder, args.mailboxes, args.latency_ms)
    try:
        store = Store(f"sqlite:///{folder / 'bench.db'}")
        values = profiles(world)
        started = time.perf_counter()
        graph_ids = seed(store, values["graph"], world.graph_addresses) if parts & {"graph", "storm"} else []
        ews_ids = seed(store, values["ews"], world.ews_addresses) if "ews" in parts else []
        load = os.getloadavg()[0]
        print(f"{args.mailboxes} mailboxes per profile (seeded in {time.perf_counter() - started:.1f} s), each: "
              f"incoming, outgoing and appointments/contacts/tasks, one HTTPS connection each, results written to "
              f"SQLite; every server behind the relay (+{args.latency_ms:g} ms each way); {os.cpu_count()} CPU "
              f"cores, load average {load:.1f}; Python {sys.version.split()[0]}")
        if "graph" in parts:
            run_kind("Exchange Online through Microsoft Graph (OAuth app-only, client secret)", store, graph_ids,
                     world, world.graph, args, world.graph.reset)
        if "ews" in parts:
            schemes = ("Negotiate", "NTLM", "Basic") if args.ews_auth == "ntlm" else ("Basic",)

            def reset_ews():
                world.ews.reset()
                world.ews.schemes = schemes

            run_kind(f"Exchange Server through EWS ({args.ews_auth.upper()}, a service account impersonating "
                     "each mailbox)", store, ews_ids, world, world.ews, args, reset_ews)
        if "storm" in parts and args.throttle_every > 0:
            world.graph.reset()
            timed_run(store, graph_ids[:10], 8, world, world.graph)  # warm up
            world.graph.reset()
            world.graph.throttle_every(args.throttle_every, retry_after=1)
            run = timed_run(store, graph_ids, args.concurrency, world, world.graph, fail_on_failure=False)
            storm = storm_figures(store, run, world.graph)
            world.graph.throttle_every(0)
            print(f"\n429 storm on Graph: every {args.throttle_every}th request answered 429 ApplicationThrottled, "
                  "Retry-After: 1")
            print(_line(f"concurrent ({args.concurrency}):", run))
            print(f"  429 answers: {storm['refused']} ({storm['share']:.0%} of {len(world.graph.requests)} requests), "
                  f"touching {storm['hit']} mailboxes")
            print(f"  good mailboxes reported as failed: {storm['failed']} (stored with a Failure status: "
                  f"{storm['stored_failed']}; target 0); reported as throttled (a direction Not Run, with a "
                  f"warning): {storm['throttled']}; retried to success: {storm['retried']}; not run: "
                  f"{storm['not_run']}")
            if storm["first_failure"]:
                print(f"  first failure: {storm['first_failure']}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak RSS of this process: {peak:.0f} MB; load average now {os.getloadavg()[0]:.1f}")
        store.close()
    finally:
        world.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_exchange_bench():
    """`pytest benchmarks/exchange_bench.py -s`: the same figures (options from $MAILBOX_TUI_BENCH_ARGS)."""
    main(os.environ.get("MAILBOX_TUI_BENCH_ARGS", "").split())


if __name__ == "__main__":
    main()
