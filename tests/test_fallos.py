"""Servidor inalcanzable o contraseña mala: error claro en español, rápido y sin secretos."""

from __future__ import annotations

import threading
import time

import pytest
from _comun import puerto_libre

from capa_datos_persona import Conexion, ErrorConexionBD
from capa_datos_persona.logger_base import log
from capa_datos_persona.servidor import elegir_servidor


def test_servidor_inalcanzable_falla_rapido_y_dice_host_y_puerto(monkeypatch: pytest.MonkeyPatch) -> None:
    puerto = puerto_libre()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres:s3creto@127.0.0.1:{puerto}/test_db")
    hilos_antes = threading.active_count()
    inicio = time.monotonic()
    with pytest.raises(ErrorConexionBD) as info:
        Conexion.obtener_conexion()
    assert time.monotonic() - inicio < Conexion.TIMEOUT
    mensaje = str(info.value)
    assert f"127.0.0.1:{puerto}" in mensaje
    assert "No se pudo conectar" in mensaje and "DATABASE_URL" in mensaje
    assert "s3creto" not in mensaje
    # no queda un pool a medias reintentando: ni servidor conectado ni hilos de fondo del pool
    assert Conexion.servidor_conectado() is None
    assert threading.active_count() == hilos_antes


def test_variables_pg_inalcanzables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    puerto = puerto_libre()
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(puerto))
    monkeypatch.setenv("PGPASSWORD", "otro-s3creto")
    assert elegir_servidor().tipo == "variables PG*"
    with pytest.raises(ErrorConexionBD, match=f"127.0.0.1:{puerto}") as info:
        Conexion.obtener_conexion_manual()
    assert "otro-s3creto" not in str(info.value)
    assert "otro-s3creto" not in elegir_servidor().descripcion()


def test_contrasena_incorrecta(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    actual = elegir_servidor()
    if actual.embebido:
        pytest.skip("el servidor embebido acepta a todos (auth=trust): se prueba en la pasada con servidor externo")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    datos = conninfo_to_dict(actual.conninfo)
    datos["password"] = "clave-equivocada-123"
    monkeypatch.setenv("DATABASE_URL", make_conninfo(**datos))
    with pytest.raises(ErrorConexionBD, match="contraseña") as info:
        Conexion.obtener_pool()
    salida = capsys.readouterr()
    for texto in (str(info.value), salida.out, salida.err):
        assert "clave-equivocada-123" not in texto
    log.debug("fin")  # el logger sigue funcionando tras el error
    assert capsys.readouterr().out.rstrip().endswith("fin")
