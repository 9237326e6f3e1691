"""Piezas comunes de las pruebas de navegador (no es un archivo de pruebas).

Un JupyterLab propio en un puerto libre de 127.0.0.1, con token y con su
configuración, sus ajustes, su carpeta de datos (firmas de confianza de los
cuadernos) y su carpeta de ejecución en una carpeta temporal: ni lee ni toca
las del usuario. Y el Chromium del sistema para Playwright, sin descargar
navegadores (salvo el de snap, que Playwright no puede manejar). Lo usan
``test_navegador.py`` y ``test_diapositivas.py``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _comun import puerto_libre

RAIZ = Path(__file__).resolve().parent.parent
NOMBRES_CHROMIUM = ("chromium", "chromium-browser")
ARGUMENTOS_CHROMIUM = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def es_snap(ruta: str) -> bool:
    """¿``ruta`` es el Chromium de snap, o un guion que lo lanza?

    ``/snap/bin/chromium`` es un enlace a ``/usr/bin/snap``; en Ubuntu,
    ``/usr/bin/chromium-browser`` es un guion que hace ``exec /snap/bin/chromium``.
    """
    real = os.path.realpath(ruta)
    if real.startswith("/snap/") or os.path.basename(real) == "snap":
        return True
    try:
        with open(real, "rb") as archivo:
            inicio = archivo.read(65536)
    except OSError:
        return False
    return inicio.startswith(b"#!") and (b"/snap/bin/" in inicio or b"snap run" in inicio)


def buscar_chromium(entorno: Mapping[str, str] = os.environ, path: str | None = None) -> tuple[str | None, str]:
    """(el Chromium que usar, o None; y el motivo para saltarse la prueba si es None).

    ``CHROMIUM=/ruta`` manda; si no, ``chromium`` o ``chromium-browser`` del PATH. Un snap
    no sirve: su confinamiento (con su propio /tmp) no deja que Playwright le pase el perfil
    ni lo maneje, y la prueba fallaría sin que nada del curso esté mal.
    """
    if entorno.get("CHROMIUM"):
        candidatos = [entorno["CHROMIUM"]]
    else:
        candidatos = [ruta for ruta in (shutil.which(n, path=path) for n in NOMBRES_CHROMIUM) if ruta]
    if not candidatos:
        return None, "no hay Chromium en este equipo (apt-get install chromium)"
    for ruta in candidatos:
        if not es_snap(ruta):
            return ruta, ""
    return None, (
        f"el único Chromium de este equipo es un snap ({', '.join(candidatos)}): su confinamiento no deja "
        "que Playwright lo maneje; instala uno sin snap o indícalo con CHROMIUM=/ruta"
    )


CHROMIUM, SIN_CHROMIUM = buscar_chromium()


@dataclass
class JupyterLab:
    url: str
    """``http://127.0.0.1:PUERTO``, sin barra final."""
    token: str
    registro: Path
    """El registro del servidor (para los mensajes de error)."""

    def direccion(self, ruta: str) -> str:
        """La dirección de ``ruta`` (``lab/tree/x.ipynb``, ``rise/x.ipynb``...) con el token."""
        return f"{self.url}/{ruta}?token={self.token}"

    def _api(self, ruta: str, metodo: str = "GET") -> Any:
        peticion = urllib.request.Request(
            f"{self.url}/api/{ruta}", method=metodo, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(peticion, timeout=30) as respuesta:
            cuerpo = respuesta.read()
        return json.loads(cuerpo) if cuerpo else None

    def cerrar_sesiones(self) -> None:
        """Apaga los kernels que abrieron las páginas (cada cuaderno abierto arranca uno)."""
        for sesion in self._api("sessions"):
            self._api(f"sessions/{sesion['id']}", "DELETE")


@contextmanager
def jupyterlab(
    cuadernos: Path, estado: Path, ajustes: dict[str, dict[str, Any]] | None = None, como_alumno: bool = False
) -> Iterator[JupyterLab]:
    """JupyterLab sirviendo la carpeta ``cuadernos``; lo suyo (configuración, ajustes...) va en ``estado``.

    ``ajustes``: ``{"extensión/plugin": {...}}``, ajustes de usuario de JupyterLab
    (por ejemplo ``{"jupyterlab-rise/plugin": {"transition": "none"}}``). Se añade el
    de no preguntar por noticias, salvo ``como_alumno``: entonces no hay ningún ajuste
    de usuario y JupyterLab usa los de su entorno, los que ve un alumno (el idioma y las
    noticias, de ``overrides.json``: ver tareas.py).
    """
    todos = {} if como_alumno else {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}
    todos.update(ajustes or {})
    for nombre, valores in todos.items():
        archivo = estado / "settings" / f"{nombre}.jupyterlab-settings"
        archivo.parent.mkdir(parents=True, exist_ok=True)
        archivo.write_text(json.dumps(valores))
    puerto, token = puerto_libre(), secrets.token_hex(16)
    entorno = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(estado / "config"),
        "JUPYTER_DATA_DIR": str(estado / "data"),
        "JUPYTER_RUNTIME_DIR": str(estado / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(estado / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(estado / "workspaces"),
    }
    orden = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={puerto}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={cuadernos}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.name != "nt" and os.geteuid() == 0:
        orden.append("--allow-root")
    ruta_registro = estado / "jupyterlab.log"
    registro = open(ruta_registro, "w")
    proceso = subprocess.Popen(orden, env=entorno, stdout=registro, stderr=subprocess.STDOUT)
    servidor = JupyterLab(f"http://127.0.0.1:{puerto}", token, ruta_registro)
    try:
        limite = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{servidor.url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proceso.poll() is not None or time.monotonic() > limite:
                pytest.fail("JupyterLab no arrancó:\n" + ruta_registro.read_text())
            time.sleep(0.3)
        yield servidor
    finally:
        # SIGTERM: JupyterLab apaga sus kernels antes de salir.
        proceso.terminate()
        try:
            proceso.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proceso.kill()
            proceso.wait()
        registro.close()


def confiar(cuadernos: list[Path], estado: Path) -> None:
    """Firma los cuadernos en la carpeta de datos de ``jupyterlab(..., estado)``: sus salidas HTML se ven enteras.

    Es lo que ve quien ejecutó el cuaderno en su equipo (JupyterLab firma al
    guardar). Sin firma, JupyterLab limpia el HTML guardado de cada salida.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    (estado / "data").mkdir(parents=True, exist_ok=True)
    with NotebookNotary(data_dir=str(estado / "data")) as notario:
        for ruta in cuadernos:
            notario.sign(nbformat.read(ruta, as_version=4))


def lanzar_chromium(playwright: Any) -> Any:
    """El Chromium del sistema, sin ventana (Playwright no descarga navegadores)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGUMENTOS_CHROMIUM)
