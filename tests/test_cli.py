"""La línea de órdenes ``python -m capa_datos_persona`` (en un proceso aparte, como la usa un alumno)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from capa_datos_persona import Conexion, servidor


def _orden(*argumentos: str, **entorno: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capa_datos_persona", *argumentos],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **entorno},
    )


def test_ayuda_en_espanol() -> None:
    resultado = _orden("--ayuda")
    assert resultado.returncode == 0
    assert resultado.stdout.startswith("uso: python -m capa_datos_persona")
    for orden in ("estado", "reiniciar-bd", "detener", "borrar-datos"):
        assert orden in resultado.stdout


def test_estado_y_reiniciar(directa) -> None:
    directa.execute("DROP TABLE IF EXISTS persona")
    resultado = _orden("reiniciar-bd")
    assert resultado.returncode == 0, resultado.stderr
    assert "Tabla persona reiniciada" in resultado.stdout
    resultado = _orden("estado")
    assert resultado.returncode == 0, resultado.stderr
    assert f"Servidor: {servidor.elegir_servidor().tipo}" in resultado.stdout
    assert "Tabla persona: 3 filas" in resultado.stdout
    assert "MAX_CON=5" in resultado.stdout
    assert "PostgreSQL " in resultado.stdout
    assert resultado.stderr == ""


def test_estado_sin_tabla_todavia(directa) -> None:
    directa.execute("DROP TABLE IF EXISTS persona")
    resultado = _orden("estado")
    assert resultado.returncode == 0, resultado.stderr
    assert "Tabla persona: no existe todavía" in resultado.stdout


def test_estado_con_servidor_inalcanzable_da_error_claro() -> None:
    resultado = _orden("estado", DATABASE_URL="postgresql://postgres:s3creto@127.0.0.1:1/test_db")
    assert resultado.returncode == 1
    assert "No se pudo conectar con PostgreSQL en 127.0.0.1:1" in resultado.stderr
    assert "s3creto" not in resultado.stderr + resultado.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    not servidor.elegir_servidor().embebido, reason="solo se detiene el servidor embebido; un servidor propio no se toca"
)
def test_detener_y_volver_a_arrancar_el_embebido() -> None:
    with Conexion.obtener_conexion() as conexion:  # el embebido está en marcha antes de detenerlo
        conexion.execute("SELECT 1")
    Conexion.cerrar_conexiones()
    resultado = _orden("detener")
    assert resultado.returncode == 0, resultado.stderr
    assert "PostgreSQL embebido detenido" in resultado.stdout
    assert not servidor.embebido_en_marcha()
    resultado = _orden("detener")  # detenerlo otra vez no es un error
    assert resultado.returncode == 0, resultado.stderr
    assert "No había ningún PostgreSQL embebido en marcha" in resultado.stdout
    # el siguiente uso lo arranca de nuevo
    with Conexion.obtener_conexion() as conexion:
        assert conexion.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_demo_resume_y_guarda_la_grafica(tmp_path) -> None:
    png = tmp_path / "graficas" / "ocupacion.png"
    resultado = _orden("demo", "--salida", str(png))
    assert resultado.returncode == 0, resultado.stderr
    assert resultado.stderr == ""
    for texto in ("with (automático)", "getconn/putconn (manual)", "agotamiento", "máx. en uso",
                  "PoolTimeout: couldn't get a connection after 3.00 sec", f"Gráfica guardada en: {png}"):
        assert texto in resultado.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
