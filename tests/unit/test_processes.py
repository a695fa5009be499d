"""chain/processes.py against this very process and a socket it holds: the /proc readings
the port rule and the chain records rely on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from chainproof.chain.nodes import free_port
from chainproof.chain.processes import describe, is_chain_argv, listeners, process


def test_a_process_is_its_pid_start_time_and_command_line() -> None:
    me = process(os.getpid())
    assert me is not None and me.start is not None and me.start > 0
    assert me.argv and me.ppid == os.getppid()
    assert process(os.getpid()) == me  # the start time is the same on every reading

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    assert process(int(done.stdout)) is None  # exited and reaped: gone


def test_the_listener_on_a_port_is_named_by_pid_and_command_line() -> None:
    port = free_port()
    assert listeners(port) == []
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        assert listeners(port) == []  # bound but not listening: not holding it for a node
        held.listen()
        (holder,) = listeners(port)
    assert holder.pid == os.getpid()
    assert describe(holder).startswith(f"pid {os.getpid()} (")


def test_chain_command_lines() -> None:
    anvil = ("/x/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil", "--port", "1")
    ganache = ("node", "/x/node_modules/ganache/dist/node/cli.js", "--server.port", "1")
    watchdog = (sys.executable, "-I", "-S", "/x/chainproof/chain/watchdog.py", "1", "--")
    assert is_chain_argv(anvil) and is_chain_argv(ganache)
    assert is_chain_argv((*watchdog, *anvil))
    assert not is_chain_argv((*watchdog, "sleep", "1"))
    assert not is_chain_argv(("pytest", "-k", "anvil"))
    assert not is_chain_argv(())
