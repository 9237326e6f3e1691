"""Qué Chromium usan las pruebas de navegador, y por qué un snap las salta en lugar de fallar.

En Ubuntu, ``chromium`` es un snap: ``/snap/bin/chromium`` es un enlace a
``/usr/bin/snap`` y ``/usr/bin/chromium-browser`` un guion que lo lanza. Su
confinamiento no deja que Playwright lo maneje, así que esas pruebas fallarían
sin que nada del curso esté mal: se saltan con el motivo. Aquí se imitan esos
archivos en una carpeta temporal (sin snap ni Chromium de verdad).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from _jupyterlab import buscar_chromium, es_snap

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="snap solo existe en Linux")

GUION_DE_UBUNTU = """#! /bin/sh
# Como el /usr/bin/chromium-browser de Ubuntu: solo lanza el snap.
if ! [ -x /snap/bin/chromium ]; then
  echo "Command '$0' requires the chromium snap to be installed." >&2
  exit 1
fi
exec /snap/bin/chromium "$@"
"""


def _ejecutable(ruta: Path, texto: str) -> Path:
    ruta.write_text(texto)
    ruta.chmod(ruta.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return ruta


def _enlace_a_snap(ruta: Path) -> Path:
    """Como /snap/bin/chromium: un enlace simbólico a /usr/bin/snap (exista o no en esta máquina)."""
    os.symlink("/usr/bin/snap", ruta)
    return ruta


def test_reconoce_el_enlace_a_snap_y_el_guion_que_lo_lanza(tmp_path: Path) -> None:
    assert es_snap(str(_enlace_a_snap(tmp_path / "chromium")))
    assert es_snap(str(_ejecutable(tmp_path / "chromium-browser", GUION_DE_UBUNTU)))
    assert es_snap(str(_ejecutable(tmp_path / "otro", "#!/bin/sh\nexec snap run chromium \"$@\"\n")))


def test_un_chromium_normal_no_es_snap(tmp_path: Path) -> None:
    # Un binario (no empieza por #!) aunque mencione /snap/bin/, y un guion que lanza otro Chromium.
    binario = tmp_path / "chromium"
    binario.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 64 + b"/snap/bin/")
    assert not es_snap(str(binario))
    assert not es_snap(str(_ejecutable(tmp_path / "envoltorio", "#!/bin/sh\nexec /usr/lib/chromium/chromium \"$@\"\n")))


def test_si_el_unico_chromium_es_un_snap_se_salta_con_el_motivo(tmp_path: Path) -> None:
    _enlace_a_snap(tmp_path / "chromium")
    _ejecutable(tmp_path / "chromium-browser", GUION_DE_UBUNTU)
    ruta, motivo = buscar_chromium({}, path=str(tmp_path))
    assert ruta is None
    assert "snap" in motivo and str(tmp_path / "chromium") in motivo and "CHROMIUM=" in motivo


def test_prefiere_un_chromium_que_no_sea_snap(tmp_path: Path) -> None:
    # chromium es el snap, chromium-browser uno normal: se usa el normal.
    _enlace_a_snap(tmp_path / "chromium")
    normal = _ejecutable(tmp_path / "chromium-browser", "#!/bin/sh\nexec /usr/lib/chromium/chromium \"$@\"\n")
    assert buscar_chromium({}, path=str(tmp_path)) == (str(normal), "")


def test_chromium_indicado_manda_y_tambien_se_salta_si_es_snap(tmp_path: Path) -> None:
    normal = _ejecutable(tmp_path / "chromium", "#!/bin/sh\nexec /usr/lib/chromium/chromium \"$@\"\n")
    snap = _enlace_a_snap(tmp_path / "mi-chromium")
    assert buscar_chromium({"CHROMIUM": str(snap)}, path=str(tmp_path))[0] is None
    assert buscar_chromium({"CHROMIUM": str(normal)}, path=str(tmp_path / "vacia")) == (str(normal), "")


def test_sin_chromium_dice_como_instalarlo(tmp_path: Path) -> None:
    ruta, motivo = buscar_chromium({}, path=str(tmp_path))
    assert ruta is None and "no hay Chromium" in motivo
