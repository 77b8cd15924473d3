import asyncio
import socket

from typer.testing import CliRunner

from predelinquency.api.serve import tcp_listener
from predelinquency.cli import app


def test_pde_api_takes_host_port_and_workers():
    result = CliRunner().invoke(app, ["api", "--help"])
    assert result.exit_code == 0
    assert all(option in result.output for option in ("--host", "--port", "--workers", "/docs"))
    assert CliRunner().invoke(app, ["api", "--workers", "0"]).exit_code == 2


def test_connections_accepted_on_the_listener_have_tcp_nodelay():
    """Without it, a keep-alive request after the first waits ~40 ms on a delayed ACK (uvicorn issue #3149)."""
    listener = tcp_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        with socket.create_connection(("127.0.0.1", port)):
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()

    asyncio.run(accept_one())
    assert listener.proto == socket.IPPROTO_TCP and seen and seen[0] != 0
