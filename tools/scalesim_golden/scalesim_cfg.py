"""SCALE-Sim 3.0.0's input files as the golden generators write them (``make_golden.py`` for the
fixed cases, ``random_configs.py`` / ``run_random.py`` for the random ones): the ``.cfg`` text of a
configuration and the header-only layout CSV. No SCALE-Sim code here: only its input formats."""
from __future__ import annotations

# scalesim 3.0.0 always parses a layout file, even with custom layouts disabled; with them
# disabled no row of it is used
LAYOUT_HEADER = "Layer name, (no custom layout rows: IfmapCustomLayout/FilterCustomLayout are False),\n"


def cfg_text(cfg: dict) -> str:
    """The ``.cfg`` of ``cfg``: run_name, rows, cols, dataflow, mode (CALC | USER), ifmap_kb,
    filter_kb, ofmap_kb, bandwidth (a list of words per cycle), ifmap/filter_bank_bw and
    ifmap/filter_bank_num."""
    return f"""[general]
run_name = {cfg['run_name']}

[run_presets]
InterfaceBandwidth = {cfg['mode']}
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {cfg['rows']}
ArrayWidth = {cfg['cols']}
IfmapSramSzkB = {cfg['ifmap_kb']}
FilterSramSzkB = {cfg['filter_kb']}
OfmapSramSzkB = {cfg['ofmap_kb']}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = {','.join(str(b) for b in cfg['bandwidth'])}
Dataflow = {cfg['dataflow']}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = {cfg['ifmap_bank_bw']}
IfmapSRAMBankNum = {cfg['ifmap_bank_num']}
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = {cfg['filter_bank_bw']}
FilterSRAMBankNum = {cfg['filter_bank_num']}
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40
"""
