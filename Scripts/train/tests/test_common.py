"""Trainer helpers that need no torch."""
import pytest

import common


def test_check_out_folder_refuses_to_replace_an_earlier_run(tmp_path):
    common.check_out_folder(tmp_path, resume=False, overwrite=False)          # empty: fine
    (tmp_path / "best.pt").write_bytes(b"x")
    with pytest.raises(SystemExit) as e:
        common.check_out_folder(tmp_path, resume=False, overwrite=False)
    assert "best.pt" in str(e.value) and "--resume" in str(e.value) and "--overwrite" in str(e.value)
    common.check_out_folder(tmp_path, resume=True, overwrite=False)           # continuing it: fine
    common.check_out_folder(tmp_path, resume=False, overwrite=True)           # starting over on purpose
    assert (tmp_path / "best.pt").exists()                                    # the check itself removes nothing
