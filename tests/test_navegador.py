"""De punta a punta, como un alumno: JupyterLab en un Chromium real.

Arranca JupyterLab en un puerto libre de 127.0.0.1 con un token, abre con el
Chromium del sistema (Playwright, sin descargar navegadores) una COPIA del
cuaderno 2, ejecuta todas sus celdas y comprueba que aparecen una línea de
salida conocida y la gráfica de ocupación. Guarda una captura en la carpeta
temporal de la prueba. Sin Chromium o sin Playwright se salta con un motivo.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parent.parent
CUADERNO = "02_liberacion_automatica_with.ipynb"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
LINEA_CONOCIDA = "procesos del servidor distintos: 1"
ULTIMA_LINEA = "Sesiones de este kernel abiertas en el servidor: 0"

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright no está instalado")
pytestmark = [
    pytest.mark.slow,  # arranca JupyterLab y un navegador: decenas de segundos
    pytest.mark.skipif(CHROMIUM is None, reason="no hay Chromium en este equipo (apt-get install chromium)"),
]


def _puerto_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab sirviendo una copia de notebooks/ (el original no se modifica)."""
    carpeta = tmp_path / "cuadernos"
    carpeta.mkdir()
    # Copia SIN salidas: lo que aparezca en pantalla lo habrá producido esta ejecución.
    import nbformat

    cuaderno = nbformat.read(RAIZ / "notebooks" / CUADERNO, as_version=4)
    for celda in cuaderno.cells:
        if celda.cell_type == "code":
            celda.outputs, celda.execution_count = [], None
    nbformat.write(cuaderno, carpeta / CUADERNO)
    # Ajustes de JupyterLab: sin preguntar por noticias ni por el kernel.
    ajustes = tmp_path / "settings" / "@jupyterlab"
    (ajustes / "apputils-extension").mkdir(parents=True)
    (ajustes / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    puerto, token = _puerto_libre(), secrets.token_hex(16)
    entorno = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    orden = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={puerto}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={carpeta}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.name != "nt" and os.geteuid() == 0:
        orden.append("--allow-root")
    registro = open(tmp_path / "jupyterlab.log", "w")
    proceso = subprocess.Popen(orden, env=entorno, stdout=registro, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{puerto}"
    try:
        limite = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proceso.poll() is not None or time.monotonic() > limite:
                pytest.fail("JupyterLab no arrancó:\n" + (tmp_path / "jupyterlab.log").read_text())
            time.sleep(0.3)
        yield f"{url}/lab/tree/{CUADERNO}?token={token}", tmp_path
    finally:
        proceso.terminate()
        try:
            proceso.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proceso.kill()
            proceso.wait()
        registro.close()


def test_jupyterlab_ejecuta_el_cuaderno_with(jupyterlab: tuple[str, Path]) -> None:
    url, carpeta = jupyterlab
    captura = carpeta / "jupyterlab_cuaderno_2.png"
    with playwright_api.sync_playwright() as p:
        navegador = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        try:
            pagina = navegador.new_page(viewport={"width": 1400, "height": 1000})
            pagina.goto(url)
            pagina.locator(".jp-Notebook").first.wait_for(timeout=60_000)
            # JupyterLab puede preguntar qué kernel usar: el del cuaderno (Python 3)
            elegir = pagina.locator(".jp-Dialog button", has_text="Select")
            try:
                elegir.first.click(timeout=5_000)
            except playwright_api.TimeoutError:
                pass
            # esperar a que el kernel esté listo antes de ejecutar
            pagina.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=60_000)
            assert pagina.locator(".jp-OutputArea-output").count() == 0  # la copia no trae salidas
            pagina.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            pagina.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            salidas = pagina.locator(".jp-OutputArea-output")
            salidas.filter(has_text=LINEA_CONOCIDA).first.wait_for(timeout=120_000)
            salidas.filter(has_text=ULTIMA_LINEA).first.wait_for(timeout=120_000)
            grafica = pagina.locator(".jp-RenderedImage img").first
            grafica.wait_for(timeout=30_000)
            grafica.scroll_into_view_if_needed()
            assert grafica.evaluate("img => img.naturalWidth") > 500
            pagina.screenshot(path=str(captura))
        finally:
            navegador.close()
    assert captura.stat().st_size > 10_000
    print(f"Captura guardada en {captura}")
