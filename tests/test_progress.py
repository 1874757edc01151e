from gigawatt.cli.progress import last_gap

LOG = """\
        Nodes      |    B&B Tree     |            Objective Bounds              |  Dynamic Constraints |       Work
Src  Proc. InQueue |  Leaves   Expl. | BestBound       BestSol              Gap |   Cuts   InLp Confl. | LpIters     Time
 J       0       0         0   0.00%   -inf            2.23670866e+13     Large        0      0      0         0     0.0s
 T       0       0         0   0.00%   2.05627009e+12  6.08582444e+12    66.21%        0      0      0       883     0.1s
  Gap               0% (tolerance: 0.5%)
"""


def test_last_gap_reads_the_branch_and_bound_column():
    assert last_gap(LOG) == "66.21%"
    assert last_gap(LOG.splitlines()[2]) == "Large"
    assert last_gap("Presolving model\n") is None
