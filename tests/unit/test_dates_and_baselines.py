from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from sbas_selector.core.baselines import (
    read_gamma_bperp_par,
    read_licsbas_baselines,
    solve_date_baselines,
)
from sbas_selector.core.dates import dates_in_name, pair_id, parse_pair_id


def test_dates_in_hyp3_gamma_and_licsbas_names():
    assert dates_in_name("S1AA_20200101T120000_20200113T120000_VVP012_INT80_G_ueF_ABCD") == [
        date(2020, 1, 1), date(2020, 1, 13)]
    assert dates_in_name("cropA_20180106-20180130_VV_8rlks_eqa_unw.tif") == [
        date(2018, 1, 6), date(2018, 1, 30)]
    assert dates_in_name("20180106_20180130.unw") == [date(2018, 1, 6), date(2018, 1, 30)]
    assert dates_in_name("dem_123456789.tif") == []
    assert dates_in_name("x_20181399_20180130") == [date(2018, 1, 30)]  # invalid month skipped


def test_pair_id_round_trip():
    assert pair_id(date(2018, 1, 6), date(2018, 1, 30)) == "20180106_20180130"
    assert parse_pair_id("20180106_20180130") == (date(2018, 1, 6), date(2018, 1, 30))
    with pytest.raises(ValueError):
        parse_pair_id("20180106")


def test_solve_date_baselines_hand_network():
    d = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(4)]
    truth = np.array([0.0, 40.0, -25.0, 10.0])
    pairs = [(d[i], d[j], truth[j] - truth[i]) for i, j in [(0, 1), (1, 2), (0, 2), (2, 3)]]
    np.testing.assert_allclose(solve_date_baselines(d, pairs), truth, atol=1e-9)


def test_solve_date_baselines_disconnected_network_anchors_each_piece():
    d = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(4)]
    pairs = [(d[0], d[1], 30.0), (d[2], d[3], -12.0)]
    np.testing.assert_allclose(solve_date_baselines(d, pairs), [0.0, 30.0, 0.0, -12.0])


def test_gamma_bperp_par_scene_mean_matches_pairs_csv(real_stack_path):
    import csv

    with open(real_stack_path / "pairs.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 30
    for row in rows:
        par = real_stack_path / "baseline" / f"{row['date1']}-{row['date2']}_VV_8rlks_bperp.par"
        assert read_gamma_bperp_par(par) == pytest.approx(float(row["bperp_m"]), abs=0.006)


def test_licsbas_baselines_both_formats(tmp_path):
    new = tmp_path / "baselines"
    new.write_text("20170302 20170326 130.9  24.0\n20170302 20170314  32.4  12.0\n")
    assert read_licsbas_baselines(new) == {
        date(2017, 3, 2): 0.0, date(2017, 3, 26): 130.9, date(2017, 3, 14): 32.4}
    old = tmp_path / "baselines_old"
    old.write_text("1 20170218 20170326 96.6 36.0 -12.0 24.0 34.2 130.9\n")
    assert read_licsbas_baselines(old) == {date(2017, 2, 18): 34.2, date(2017, 3, 26): 130.9}
