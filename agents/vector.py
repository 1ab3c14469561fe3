"""K QAS environments stepped together (the ``gymnasium.vector`` API), with their angle
fits sent to the simulator as batches.

After the K actions are placed, environments whose circuits have the same structure
(same gates on the same qubits; angles differ) are fitted together: the new angles
are solved in one batched call per evaluation point, and L-BFGS-B runs once on the sum
of their energies, which is separable, so each environment gets its own optimum,
while every energy and adjoint gradient is one batched simulator call of shape
(group, parameters). Early in training, and under a greedy policy, many environments
share structures. Noisy, shot-based, state and non-L-BFGS-B fits run per environment.
Finished environments reset in the same step (``AutoresetMode.SAME_STEP``: the last
observation and info are in ``infos["final_obs"]`` / ``infos["final_info"]``).
"""

from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from agents.env import QASEnv, fit_angles
from qworkbench.utils import positive_int

__all__ = ["QASVectorEnv"]


class QASVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`QASEnv` (``env_kwargs`` as for QASEnv; environment
    i is seeded with ``seed + i``)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, task, num_envs: int, seed=None, **env_kwargs):
        num_envs = positive_int("num_envs", num_envs)
        self.envs = [
            QASEnv(task, seed=None if seed is None else seed + i, **env_kwargs)
            for i in range(num_envs)
        ]  # a registry name is resolved per env (molecular data come from the disk cache)
        first = self.envs[0]
        self.num_envs = num_envs
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(first.observation_space, num_envs)
        self.action_space = batch_space(first.action_space, num_envs)
        self.batched_evaluations = 0  # simulator calls that served more than one env

    def reset(self, *, seed=None, options=None):
        infos: dict = {}
        observations = []
        for i, env in enumerate(self.envs):
            obs, info = env.reset(seed=None if seed is None else seed + i)
            observations.append(obs)
            infos = self._add_info(infos, info, i)
        return np.stack(observations), infos

    def step(self, actions):
        actions = np.asarray(actions).reshape(-1)
        if actions.shape[0] != self.num_envs:
            raise ValueError(f"expected {self.num_envs} actions, got {actions.shape[0]}")
        placed = [env.apply_action(int(a)) for env, a in zip(self.envs, actions, strict=True)]
        values = self._fit_all(placed)
        observations, rewards, terminated, truncated = [], [], [], []
        infos: dict = {}
        for i, env in enumerate(self.envs):
            obs, reward, term, trunc, info = env.finish_step(values[i])
            if term or trunc:
                infos = self._add_info(infos, {"final_obs": obs, "final_info": info}, i)
                obs, info = env.reset()
            observations.append(obs)
            rewards.append(reward)
            terminated.append(term)
            truncated.append(trunc)
            infos = self._add_info(infos, info, i)
        return (np.stack(observations), np.array(rewards), np.array(terminated),
                np.array(truncated), infos)  # fmt: skip

    # -- fitting ----------------------------------------------------------------------------
    def _fit_all(self, placed) -> list[float]:
        values: list[float | None] = [None] * self.num_envs
        groups: dict[tuple, list[int]] = {}
        for i, (env, (circuit, new)) in enumerate(zip(self.envs, placed, strict=True)):
            batchable = (env.kind == "energy" and env.noise is None and env.shots is None
                         and env.fitter == "l-bfgs-b" and env.angles.size > 0)  # fmt: skip
            if batchable:
                groups.setdefault((circuit.structure_key(), tuple(new)), []).append(i)
            else:
                values[i] = env.fit(circuit, new)
        for members in groups.values():
            if len(members) == 1:
                i = members[0]
                values[i] = self.envs[i].fit(*placed[i])
                continue
            for i, value in zip(members, self._fit_group(members, placed), strict=True):
                values[i] = value
        return values

    def _fit_group(self, members: list[int], placed) -> list[float]:
        """:func:`agents.env.fit_angles` on the group's angle rows, every energy and
        gradient one batched simulator call."""
        envs = [self.envs[i] for i in members]
        circuit, new = placed[members[0]]
        sim, h = envs[0].sim, envs[0].hamiltonian

        def energies(batch):
            self.batched_evaluations += 1
            return np.asarray(sim.expval(circuit, h, batch), dtype=float)

        def gradients(batch):
            self.batched_evaluations += 1
            return np.asarray(sim.gradient(circuit, h, batch))

        x = np.stack([env.angles for env in envs])
        fitted, values = fit_angles(energies, x, new, fitter="l-bfgs-b",
                                    maxiter=envs[0].fit_maxiter, jac=gradients)  # fmt: skip
        for env, angles in zip(envs, fitted, strict=True):
            env.angles = angles.copy()
        return [float(v) for v in values]

    def close_extras(self, **kwargs):
        for env in self.envs:
            env.close()

    def __repr__(self) -> str:
        return f"QASVectorEnv({self.envs[0].task.name!r}, num_envs={self.num_envs})"
