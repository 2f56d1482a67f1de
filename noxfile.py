"""nox sessions for the monorepo; `make` is the bootstrap for machines without nox."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

LOCAL_PACKAGES = ["./wms-simulator", "./tap-oracle-wms", "./mapper-wms-validate", "./target-oracle"]


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The whole suite, in the environment `make dev` built (same as `make test`)."""
    session.run("make", "test", external=True)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Every benchmark suite, then BENCHMARKS.md (same as `make bench`); arguments go to the suites.

    nox -s bench -- --rows 100000 --repeats 1
    """
    session.run("make", "bench", f"BENCH_ARGS={' '.join(session.posargs)}", external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole repo."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def standalone(session: nox.Session) -> None:
    """Each plugin installs alone into a clean environment and answers --about."""
    for package in LOCAL_PACKAGES[1:]:
        session.install(package)
        session.run(package.removeprefix("./"), "--about")
