"""Una aplicación pequeña que se porta mal: el caso del cuaderno 12.

La «aplicación» atiende peticiones sobre la tabla ``persona`` con varios hilos,
como un servidor web pequeño, y usa la capa de datos del curso
(:class:`~capa_datos_persona.conexion.Conexion`). Tiene tres manejadores, uno
por «ruta»:

* :func:`ver_persona` (``/personas/<id>``): nombre y apellido de una persona;
  si no existe, lanza :class:`PersonaNoEncontrada` (una respuesta normal, como
  un 404 de una web).
* :func:`contar_personas` (``/informe``): cuántas personas hay, con un plazo
  corto para no quedarse colgado.
* :func:`exportar_personas` (``/exportar``): todas las personas; es lenta a
  propósito (``pg_sleep``), como una exportación grande.

Algo falla en producción. El cuaderno 12 parte de los síntomas (peticiones que
fallan, procesos que no arrancan) y los diagnostica con las herramientas del
curso; aquí no se dice qué está mal. Quien mantiene el curso encontrará la
explicación en ``docs/guia/12_diagnostico_final.md`` y en
``tests/test_aplicacion.py``.

Lo que usa el cuaderno:

* :func:`jornada_con_errores`, :func:`jornada_con_informes`: un día de
  peticiones, por tandas y con varios hilos, con un pool nuevo de 5 conexiones
  (:func:`pool_nuevo`); devuelven una :class:`Jornada` con las cuentas.
  ``manejadores={"ver": tu_funcion}`` cambia un manejador por el tuyo.
* :func:`informe_y_exportaciones`: una exportación, un informe y cinco
  exportaciones más, en orden y con un solo hilo.
* :func:`ajustes_de_sesion`: qué ajustes de sesión (``SET``) llevan las
  conexiones libres del pool.
* :func:`desplegar`: varios **procesos** de la aplicación, cada uno con su
  pool, contra un rol con ``CONNECTION LIMIT`` creado para la ocasión (y
  borrado al terminar).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

from ..conexion import Conexion
from ..servidor import usar_servidor
from .diagnostico import conexion_directa
from .esperas import esperar_hasta

TAMANO_POOL = 5
"""Conexiones del pool de la aplicación (``MIN_CON = MAX_CON``: el pool nuevo empieza lleno)."""
PLAZO = 0.5
"""Segundos que una petición espera una conexión libre antes del ``PoolTimeout`` (``TIMEOUT``)."""
HILOS = 4
"""Hilos que atienden peticiones a la vez."""
DURACION_EXPORTAR = 0.2
"""Segundos que tarda en el servidor una exportación (``pg_sleep``)."""
PERSONA_INEXISTENTE = 99
"""Un ``id_persona`` que no existe en la tabla de ejemplo."""


class PersonaNoEncontrada(LookupError):
    """No hay ninguna persona con ese ``id_persona`` (la respuesta «404» de la aplicación)."""


# --- Los manejadores de la aplicación -----------------------------------------------------


CODIGO_DE_APLICACION = True
"""Para el detector de fugas (:mod:`.fugas`), este módulo es código «del alumno».

El detector anota como lugar de cada préstamo la primera línea de la pila que
no es del paquete del curso; esta aplicación hace de código del alumno aunque
viva dentro del paquete, y así el detector señala ``aplicacion.py:N``.
"""


def ver_persona(id_persona: int) -> str:
    """Petición «ver» (/personas/<id>): nombre y apellido de la persona."""
    conexion = Conexion.obtener_conexion_manual()
    fila = conexion.execute(
        "SELECT nombre, apellido FROM persona WHERE id_persona = %s", (id_persona,)
    ).fetchone()
    if fila is None:
        raise PersonaNoEncontrada(f"no existe ninguna persona con id_persona={id_persona}")
    conexion.commit()
    Conexion.liberar_conexion(conexion)
    return f"{fila[0]} {fila[1]}"


def contar_personas() -> int:
    """Petición «informe»: cuántas personas hay. Con un plazo de 50 ms, para no quedarse esperando un bloqueo."""
    with Conexion.obtener_conexion() as conexion:
        conexion.execute("SET statement_timeout = '50ms'")
        return conexion.execute("SELECT count(*) FROM persona").fetchone()[0]


def exportar_personas() -> int:
    """Petición «exportar»: todas las personas (tarda DURACION_EXPORTAR = 0,2 s en el servidor); devuelve cuántas."""
    with Conexion.obtener_conexion() as conexion:
        conexion.execute("SELECT pg_sleep(%s)", (DURACION_EXPORTAR,))
        return len(conexion.execute("SELECT id_persona, nombre, apellido, email FROM persona").fetchall())


def codigo(nombre: str) -> str:
    """El código de un manejador de :data:`MANEJADORES` (``"ver"``, ``"informe"``, ``"exportar"``), tal como está en este archivo."""
    funcion = MANEJADORES[nombre]
    lineas = Path(__file__).read_text(encoding="utf-8").splitlines(keepends=True)
    bloque = inspect.getblock(lineas[funcion.__code__.co_firstlineno - 1 :])
    return "".join(linea for linea in bloque if not linea.startswith("@")).rstrip()


def linea_del_prestamo(nombre: str) -> int | None:
    """Número de línea (en este archivo) donde el manejador ``nombre`` pide una conexión a mano, o ``None``."""
    funcion = MANEJADORES[nombre]
    primera = funcion.__code__.co_firstlineno
    lineas = Path(__file__).read_text(encoding="utf-8").splitlines(keepends=True)
    bloque = inspect.getblock(lineas[primera - 1 :])
    for desplazamiento, linea in enumerate(bloque):
        if "obtener_conexion_manual(" in linea:
            return primera + desplazamiento
    return None


MANEJADORES: dict[str, Callable[..., Any]] = {
    "ver": ver_persona,
    "informe": contar_personas,
    "exportar": exportar_personas,
}
"""Qué función atiende cada tipo de petición."""


# --- Atender peticiones con varios hilos ---------------------------------------------------


@dataclass(frozen=True)
class Peticion:
    """Una petición a la aplicación: su tipo (la «ruta») y sus argumentos."""

    tipo: str
    argumentos: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Resultado:
    """Cómo terminó una petición."""

    tanda: str
    tipo: str
    estado: str
    """``"bien"``, ``"no existe"`` (:class:`PersonaNoEncontrada`) o ``"error"``."""
    segundos: float
    error: str | None = None
    """Clase de la excepción, si terminó en ``"error"``."""
    mensaje: str | None = None
    sqlstate: str | None = None
    """El código SQLSTATE del error, si lo mandó el servidor."""


@dataclass
class Jornada:
    """Las peticiones de un día y cómo terminaron, con el pool tal como quedó al final."""

    resultados: list[Resultado]
    abiertas: int
    """``pool_size`` al final de la jornada."""
    libres: int
    """``pool_available`` al final de la jornada."""

    @property
    def en_uso(self) -> int:
        return self.abiertas - self.libres

    def cuenta(self, estado: str, tipo: str | None = None) -> int:
        return sum(r.estado == estado and (tipo is None or r.tipo == tipo) for r in self.resultados)

    @property
    def bien(self) -> int:
        return self.cuenta("bien")

    @property
    def no_existe(self) -> int:
        return self.cuenta("no existe")

    @property
    def fallidas(self) -> int:
        return self.cuenta("error")

    def errores(self, tipo: str | None = None) -> Counter[str]:
        """Cuántas peticiones fallaron con cada excepción."""
        return Counter(r.error for r in self.resultados if r.error and (tipo is None or r.tipo == tipo))

    def mensajes(self) -> dict[str, str]:
        """Un mensaje de ejemplo por cada excepción."""
        ejemplos: dict[str, str] = {}
        for r in self.resultados:
            if r.error and r.error not in ejemplos:
                ejemplos[r.error] = r.mensaje or ""
        return ejemplos

    def ejemplos(self) -> str:
        """Una línea por excepción, con su SQLSTATE si lo hay: ``QueryCanceled (SQLSTATE 57014): ...``."""
        lineas: dict[str, str] = {}
        for r in self.resultados:
            if r.error and r.error not in lineas:
                codigo = f" (SQLSTATE {r.sqlstate})" if r.sqlstate else ""
                lineas[r.error] = f"{r.error}{codigo}: {r.mensaje}"
        return "\n".join(lineas.values())

    def percentil(self, p: float = 95) -> float:
        """Segundos del percentil ``p``: el ``p`` % de las peticiones tardó eso o menos."""
        tiempos = sorted(r.segundos for r in self.resultados)
        if not tiempos:
            return 0.0
        indice = min(len(tiempos) - 1, max(0, math.ceil(p / 100 * len(tiempos)) - 1))
        return tiempos[indice]

    def _tabla(self, clave: Callable[[Resultado], str], titulo: str) -> str:
        grupos: dict[str, list[Resultado]] = {}
        for r in self.resultados:
            grupos.setdefault(clave(r), []).append(r)
        lineas = [f"{titulo:<10} {'peticiones':>10} {'bien':>5} {'no existe':>10} {'fallidas':>9}  motivo de los fallos"]
        for nombre, grupo in grupos.items():
            motivos = Counter(r.error for r in grupo if r.error)
            texto = ", ".join(f"{error} ×{n}" for error, n in motivos.items())
            lineas.append(
                f"{nombre:<10} {len(grupo):>10} {sum(r.estado == 'bien' for r in grupo):>5} "
                f"{sum(r.estado == 'no existe' for r in grupo):>10} {sum(r.estado == 'error' for r in grupo):>9}  {texto}".rstrip()
            )
        return "\n".join(lineas)

    def por_tanda(self) -> str:
        """Una línea por tanda (hora del día): cuántas peticiones, cuántas bien y cuántas fallaron."""
        return self._tabla(lambda r: r.tanda, "hora")

    def por_tipo(self) -> str:
        """Una línea por tipo de petición."""
        return self._tabla(lambda r: r.tipo, "petición")

    def pool(self) -> str:
        """El pool al terminar, con las palabras del curso."""
        return f"pool al terminar: abiertas {self.abiertas} · en uso {self.en_uso} · libres {self.libres}"


def pool_nuevo() -> Any:
    """Cierra el pool de :class:`Conexion` y abre uno nuevo con la configuración de la aplicación.

    ``MIN_CON = MAX_CON = TAMANO_POOL`` (el pool empieza con todas sus
    conexiones abiertas) y ``TIMEOUT = PLAZO``. Cambia esos atributos de
    ``Conexion``: guárdalos antes si quieres volver a dejarlos como estaban.
    """
    Conexion.cerrar_conexiones()
    Conexion.MIN_CON = Conexion.MAX_CON = TAMANO_POOL
    Conexion.TIMEOUT = PLAZO
    return Conexion.obtener_pool()


def _atender(peticion: Peticion, manejadores: dict[str, Callable[..., Any]], tanda: str) -> Resultado:
    inicio = time.perf_counter()
    try:
        manejadores[peticion.tipo](*peticion.argumentos)
    except PersonaNoEncontrada:
        return Resultado(tanda, peticion.tipo, "no existe", time.perf_counter() - inicio)
    except Exception as exc:  # la aplicación anota el fallo y sigue con la siguiente petición
        # Solo texto: guardar la excepción guardaría su traza, y con ella las variables del manejador.
        return Resultado(
            tanda, peticion.tipo, "error", time.perf_counter() - inicio,
            type(exc).__name__, str(exc), getattr(exc, "sqlstate", None),
        )
    return Resultado(tanda, peticion.tipo, "bien", time.perf_counter() - inicio)


def atender(
    tandas: Sequence[tuple[str, Sequence[Peticion]]],
    manejadores: dict[str, Callable[..., Any]] | None = None,
    hilos: int = HILOS,
) -> list[Resultado]:
    """Atiende las peticiones de cada tanda con ``hilos`` hilos; una tanda empieza cuando acaba la anterior.

    Usa el pool actual de ``Conexion``. Cada hilo toma la siguiente petición
    de la tanda y llama a su manejador; un error se anota y el hilo sigue.
    Devuelve un :class:`Resultado` por petición, en el orden de las peticiones
    (no en el que terminaron).
    """
    funciones = {**MANEJADORES, **(manejadores or {})}
    resultados: list[Resultado] = []
    for etiqueta, peticiones in tandas:
        resultados.extend(_atender_tanda(etiqueta, list(peticiones), funciones, hilos))
    return resultados


def _atender_tanda(
    etiqueta: str, peticiones: list[Peticion], funciones: dict[str, Callable[..., Any]], hilos: int
) -> list[Resultado]:
    resultados: list[Resultado | None] = [None] * len(peticiones)
    siguiente = iter(range(len(peticiones)))
    cerrojo = threading.Lock()

    def trabajar() -> None:
        while True:
            with cerrojo:
                indice = next(siguiente, None)
            if indice is None:
                return
            resultados[indice] = _atender(peticiones[indice], funciones, etiqueta)

    hebras = [threading.Thread(target=trabajar, name=f"peticiones-{n}") for n in range(hilos)]
    for hebra in hebras:
        hebra.start()
    for hebra in hebras:
        hebra.join()
    return [r for r in resultados if r is not None]


def _jornada(tandas: Sequence[tuple[str, Sequence[Peticion]]], manejadores: dict[str, Callable[..., Any]] | None) -> Jornada:
    pool = pool_nuevo()
    resultados = atender(tandas, manejadores)
    estadisticas = pool.get_stats()
    return Jornada(resultados, estadisticas["pool_size"], estadisticas["pool_available"])


_ULTIMAS: dict[str, Any] = {}
"""Lo último medido en este proceso con los manejadores originales (las comprobaciones lo comparan)."""


def _originales(manejadores: dict[str, Callable[..., Any]] | None) -> bool:
    return all(MANEJADORES.get(t) is f for t, f in (manejadores or {}).items())


def ultima(nombre: str) -> Any:
    """Lo último que se midió con los manejadores originales: ``"errores"``, ``"informes"``,
    ``"orden"`` o ``"despliegue"`` (``None`` si no se midió en este proceso)."""
    return _ULTIMAS.get(nombre)


def jornada_con_errores(horas: int = 6, manejadores: dict[str, Callable[..., Any]] | None = None) -> Jornada:
    """Un día de consultas: cada hora, 12 de personas que existen y después 1 de una que no existe.

    Con un pool nuevo de ``TAMANO_POOL`` conexiones y ``HILOS`` hilos. Las horas
    van de las 09:00 en adelante.
    """
    tandas: list[tuple[str, list[Peticion]]] = []
    for hora in range(9, 9 + horas):
        etiqueta = f"{hora:02d}:00"
        tandas.append((etiqueta, [Peticion("ver", (1 + i % 3,)) for i in range(12)]))
        tandas.append((etiqueta, [Peticion("ver", (PERSONA_INEXISTENTE,))]))
    jornada = _jornada(tandas, manejadores)
    if _originales(manejadores) and horas == 6:
        _ULTIMAS["errores"] = jornada
    return jornada


def jornada_con_informes(manejadores: dict[str, Callable[..., Any]] | None = None) -> Jornada:
    """Un día con informes: a las 08:00, 5 informes; a las 09:00, 8 consultas y 6 exportaciones mezcladas.

    Con un pool nuevo de ``TAMANO_POOL`` conexiones y ``HILOS`` hilos.
    """
    mezcla = [Peticion("ver", (1 + i % 3,)) if i % 7 not in (1, 3, 5) else Peticion("exportar") for i in range(14)]
    tandas = [("08:00", [Peticion("informe")] * 5), ("09:00", mezcla)]
    jornada = _jornada(tandas, manejadores)
    if _originales(manejadores):
        _ULTIMAS["informes"] = jornada
    return jornada


@dataclass(frozen=True)
class Orden:
    """Resultado de :func:`informe_y_exportaciones`: cómo terminó cada exportación, en orden."""

    antes: str
    """La exportación de antes del informe: ``"bien"`` o la excepción."""
    despues: list[str]
    """Las cinco exportaciones de después del informe."""

    @property
    def fallidas(self) -> int:
        return sum(estado != "bien" for estado in self.despues)

    def __str__(self) -> str:
        lineas = [f"exportación antes del informe: {self.antes}", "informe: bien"]
        lineas += [f"exportación {n} después del informe: {estado}" for n, estado in enumerate(self.despues, 1)]
        lineas.append(f"fallaron {self.fallidas} de {len(self.despues)} exportaciones después del informe")
        return "\n".join(lineas)


def informe_y_exportaciones(despues: int = 5) -> Orden:
    """Con un pool nuevo y **un solo hilo**: una exportación, un informe y ``despues`` exportaciones, en ese orden."""
    pool_nuevo()

    def exportar() -> str:
        try:
            exportar_personas()
        except psycopg.Error as exc:
            return type(exc).__name__
        return "bien"

    antes = exportar()
    contar_personas()
    orden = Orden(antes, [exportar() for _ in range(despues)])
    if despues == 5:
        _ULTIMAS["orden"] = orden
    return orden


_AJUSTES_DE_SESION = """
SELECT name, current_setting(name) FROM pg_settings WHERE source = 'session' ORDER BY name
"""


def ajustes_de_sesion() -> list[dict[str, str]]:
    """Los ajustes cambiados con ``SET`` en cada conexión **libre** del pool (``pg_settings.source = 'session'``).

    Pide a la vez todas las conexiones libres (así cada una es distinta), lee
    sus ajustes y las devuelve. Una lista por conexión, en el orden en que el
    pool las prestó; ``{}`` si esa conexión no tiene nada cambiado.
    """
    pool = Conexion.obtener_pool()
    libres = pool.get_stats()["pool_available"]
    with ExitStack() as pila:
        conexiones = [pila.enter_context(Conexion.obtener_conexion()) for _ in range(libres)]
        return [dict(conexion.execute(_AJUSTES_DE_SESION).fetchall()) for conexion in conexiones]


def resumen_ajustes(ajustes: list[dict[str, str]]) -> str:
    """Una línea por conexión: ``conexión 1: statement_timeout = 50ms``."""
    lineas = []
    for numero, cambiados in enumerate(ajustes, 1):
        texto = ", ".join(f"{nombre} = {valor}" for nombre, valor in cambiados.items()) or "nada cambiado"
        lineas.append(f"conexión {numero}: {texto}")
    return "\n".join(lineas)


# --- Varios procesos, cada uno con su pool ------------------------------------------------

PROGRAMA_PROCESO = r"""
import json, logging, os, sys
from psycopg_pool import ConnectionPool, PoolTimeout

tamano, espera, nombre = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
avisos = []

class Anotar(logging.Handler):
    def emit(self, registro):
        avisos.append(registro.getMessage())

registro = logging.getLogger("psycopg.pool")
registro.addHandler(Anotar())
registro.setLevel(logging.WARNING)
registro.propagate = False

pool = ConnectionPool(os.environ["CAPA_APP_CONNINFO"], min_size=tamano, max_size=tamano, name=nombre,
                      kwargs={"application_name": nombre}, open=False)
try:
    pool.open(wait=True, timeout=espera)
    print(json.dumps({"listo": True}), flush=True)
except PoolTimeout as error:
    servidor = next((a for a in avisos if "FATAL:" in a), avisos[-1] if avisos else "")
    print(json.dumps({"listo": False, "error": f"{type(error).__name__}: {error}",
                      "servidor": servidor}), flush=True)
sys.stdin.read()  # sigue vivo, con su pool, hasta que quien lo arrancó cierre su entrada
pool.close()
"""
"""Lo que ejecuta cada proceso de :func:`desplegar` (``python -c``): abre su pool y espera a estar lleno."""

PREFIJO_ROL = "capa_app_"


class SinPermisoParaRoles(RuntimeError):
    """El usuario del curso no puede crear roles en este servidor."""


@dataclass(frozen=True)
class Proceso:
    numero: int
    listo: bool
    error: str = ""
    servidor: str = ""
    """Lo que respondió el servidor (a partir de ``FATAL:``), si no arrancó."""


@dataclass
class Despliegue:
    """Resultado de :func:`desplegar`."""

    rol: str
    limite: int
    max_size: int
    otras: int
    procesos: list[Proceso]
    sesiones: dict[str, int]
    """Sesiones del rol en el servidor con todos los procesos ya arrancados (o fallidos), por ``application_name``."""
    saltado: str = ""
    """Si no se pudo hacer, por qué (en español)."""

    @property
    def listos(self) -> int:
        return sum(p.listo for p in self.procesos)

    def __str__(self) -> str:
        if self.saltado:
            return self.saltado
        lineas = [
            f"Rol {self.rol} con CONNECTION LIMIT {self.limite}; {len(self.procesos)} procesos, cada uno con un pool de "
            f"min_size = max_size = {self.max_size}" + (f"; otras sesiones del rol abiertas: {self.otras}" if self.otras else "")
        ]
        for p in self.procesos:
            if p.listo:
                lineas.append(f"proceso {p.numero}: listo")
            else:
                lineas.append(f"proceso {p.numero}: no arrancó: {p.error}")
                if p.servidor:
                    lineas.append(f"  el servidor respondió: {p.servidor}")
        lineas.append(f"procesos listos: {self.listos} de {len(self.procesos)}")
        detalle = ", ".join(f"{nombre.split(':')[-1].replace('_', ' ')}: {n}" for nombre, n in self.sesiones.items())
        lineas.append(f"sesiones del rol en el servidor: {sum(self.sesiones.values())} ({detalle})")
        return "\n".join(lineas)


def _texto_del_servidor(aviso: str) -> str:
    """De un aviso de conexión fallida, solo lo que dijo el servidor (sin rutas del equipo)."""
    if "FATAL:" in aviso:
        return "FATAL:" + aviso.split("FATAL:", 1)[-1].rstrip()
    return aviso.rsplit(":", 1)[-1].strip()


def _contar_sesiones_del_rol(admin: psycopg.Connection, rol: str) -> dict[str, int]:
    filas = admin.execute(
        "SELECT application_name, count(*) FROM pg_stat_activity WHERE usename = %s GROUP BY 1 ORDER BY 1", (rol,)
    ).fetchall()
    return {nombre: n for nombre, n in filas}


@contextmanager
def rol_limitado(limite: int) -> Iterator[tuple[str, str]]:
    """Crea un rol con ``CONNECTION LIMIT limite`` y una contraseña al azar; lo borra al salir.

    Da ``(nombre, conninfo)``: la cadena de conexión del servidor del curso con
    ese rol (lleva la contraseña: no la muestres). El nombre lleva el número de
    proceso, para no chocar con el de otro cuaderno abierto.
    """
    import secrets

    rol = f"{PREFIJO_ROL}{os.getpid()}"
    clave = secrets.token_urlsafe(16)
    with conexion_directa() as admin:
        try:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(rol)))
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {}").format(
                    sql.Identifier(rol), sql.Literal(limite), sql.Literal(clave)
                )
            )
        except errors.InsufficientPrivilege:
            raise SinPermisoParaRoles(
                "Tu usuario de PostgreSQL no puede crear roles (le falta CREATEROLE), así que esta parte no se "
                "puede ejecutar en tu servidor. Lee las salidas guardadas, o usa el servidor embebido del curso "
                "(sin DATABASE_URL ni variables PG*)."
            ) from None
        try:
            conninfo = make_conninfo(usar_servidor().conninfo, user=rol, password=clave)
            yield rol, conninfo
        finally:
            esperar_hasta(lambda: not _contar_sesiones_del_rol(admin, rol), 5.0, pausa=0.05)
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(rol)))


def roles_sobrantes() -> int:
    """Cuántos roles de :func:`desplegar` quedan en el servidor (debería ser 0)."""
    with conexion_directa() as admin:
        return admin.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (PREFIJO_ROL + "%",)).fetchone()[0]


def desplegar(procesos: int = 3, max_size: int = 3, limite: int = 6, otras: int = 0, espera: float = 1.5) -> Despliegue:
    """Arranca ``procesos`` procesos de la aplicación, uno tras otro, cada uno con su pool, contra un rol limitado.

    Cada proceso (``python -c`` con :data:`PROGRAMA_PROCESO`) abre un pool de
    ``min_size = max_size = max_size`` conexiones con el rol de
    :func:`rol_limitado` (``CONNECTION LIMIT limite``) y espera a tenerlo lleno
    (``wait``, como mucho ``espera`` segundos). Se arrancan en orden, como un
    despliegue que añade procesos de uno en uno; antes, se abren ``otras``
    sesiones del mismo rol (una monitorización, una consola...). Con todos
    arrancados (o fallidos), cuenta las sesiones del rol en ``pg_stat_activity``.
    Al terminar cierra todo y borra el rol.
    """
    try:
        with rol_limitado(limite) as (rol, conninfo):
            return _desplegar(rol, conninfo, procesos, max_size, limite, otras, espera)
    except SinPermisoParaRoles as exc:
        return Despliegue("", limite, max_size, otras, [], {}, saltado=str(exc))


def _desplegar(rol: str, conninfo: str, procesos: int, max_size: int, limite: int, otras: int, espera: float) -> Despliegue:
    entorno = {**os.environ, "CAPA_APP_CONNINFO": conninfo}
    hijos: list[subprocess.Popen[str]] = []
    resultados: list[Proceso] = []
    with ExitStack() as pila:
        for n in range(otras):
            pila.enter_context(psycopg.connect(conninfo, autocommit=True, application_name=f"capa_app:otra_{n + 1}"))
        try:
            for numero in range(1, procesos + 1):
                hijo = subprocess.Popen(
                    [sys.executable, "-c", PROGRAMA_PROCESO, str(max_size), str(espera), f"capa_app:proceso_{numero}"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=entorno,
                    text=True,
                    encoding="utf-8",
                )
                hijos.append(hijo)
                linea = hijo.stdout.readline()  # type: ignore[union-attr]
                if not linea:
                    hijo.wait(timeout=10)
                    raise RuntimeError(f"El proceso {numero} terminó sin responder: {hijo.stderr.read()[-500:]}")  # type: ignore[union-attr]
                datos = json.loads(linea)
                resultados.append(
                    Proceso(numero, datos["listo"], datos.get("error", ""), _texto_del_servidor(datos.get("servidor", "")) if not datos["listo"] else "")
                )
            esperados = otras + max_size * sum(p.listo for p in resultados)
            with conexion_directa() as admin:
                esperar_hasta(lambda: sum(_contar_sesiones_del_rol(admin, rol).values()) == esperados, 5.0, pausa=0.05)
                sesiones = _contar_sesiones_del_rol(admin, rol)
        finally:
            for hijo in hijos:
                try:
                    hijo.communicate(timeout=10)  # cierra su entrada: el proceso cierra su pool y termina
                except subprocess.TimeoutExpired:
                    hijo.kill()
                    hijo.communicate()
    despliegue = Despliegue(rol, limite, max_size, otras, resultados, sesiones)
    if (procesos, max_size, limite, otras) == (3, 3, 6, 0):
        _ULTIMAS["despliegue"] = despliegue
    return despliegue
