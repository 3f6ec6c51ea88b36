"""Stage and phase boundaries by update number."""

import pytest

from ami.game import active_groups
from ami.schedule import Phase, Schedule, Stage


def test_stages_follow_update_boundaries():
    schedule = Schedule(pretrain_updates=3, noise_pretrain_updates=2)
    stages = [schedule.stage(n) for n in range(7)]
    assert stages == [Stage.PRETRAIN] * 3 + [Stage.NOISE_PRETRAIN] * 2 + [Stage.ADVERSARIAL] * 2


def test_adversarial_cycle_counts():
    schedule = Schedule(0, 0, forward_updates_per_cycle=2, backward_updates_per_cycle=3)
    phases = [schedule.phase(n) for n in range(10)]
    cycle = [Phase.FORWARD] * 2 + [Phase.BACKWARD] * 3
    assert phases == cycle * 2


def test_cycle_starts_after_pretraining():
    schedule = Schedule(pretrain_updates=1, noise_pretrain_updates=1)
    assert [schedule.phase(n) for n in range(5)] == [
        Phase.MLE, Phase.NOISE, Phase.FORWARD, Phase.BACKWARD, Phase.FORWARD,
    ]


def test_schedule_rejects_bad_values():
    with pytest.raises(ValueError, match="pretrain_updates must be >= 0"):
        Schedule(pretrain_updates=-1, noise_pretrain_updates=0)
    with pytest.raises(ValueError, match="both 0"):
        Schedule(0, 0, forward_updates_per_cycle=0, backward_updates_per_cycle=0)


def test_active_groups_per_phase_and_direction():
    assert active_groups(Phase.MLE, "forward") == {"forward", "backward"}
    assert active_groups(Phase.NOISE, "forward") == {"forward_noise"}
    assert active_groups(Phase.NOISE, "both") == {"forward_noise", "backward_noise"}
    assert active_groups(Phase.FORWARD, "forward") == {"forward", "forward_noise"}
    assert active_groups(Phase.BACKWARD, "forward") == {"backward"}
    assert active_groups(Phase.FORWARD, "reverse") == {"forward"}
    assert active_groups(Phase.BACKWARD, "reverse") == {"backward", "backward_noise"}
