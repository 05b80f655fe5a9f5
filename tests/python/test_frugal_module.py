"""The `frugal` Python module against published figures, hand-computed values and the command-line
tools it wraps (run by ctest with PYTHONPATH at the built module; FRUGAL_SIM and FRUGAL_TRAIN name the
CLIs, FRUGAL_MODELS the config/models directory)."""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

import frugal


class Simulator(unittest.TestCase):
    def test_model_counts_match_published_figures(self):
        a = frugal.model("deepseek-v3")
        self.assertAlmostEqual(a["total_params"] / 671e9, 1.0, delta=0.01)  # V3 report: 671B
        self.assertEqual(a["kv_cache_bytes_per_token"], 70272)  # ISCA25 Table 1, BF16
        self.assertAlmostEqual(a["train_flops_per_token"] / 250e9, 1.0, delta=0.02)  # ISCA25 Table 2

    def test_model_config_round_trips(self):
        v3 = frugal.ModelConfig("deepseek-v3")
        self.assertTrue(v3.is_moe)
        self.assertEqual((v3.routed_experts, v3.top_k, v3.hidden_size), (256, 8, 7168))
        again = frugal.ModelConfig({"model": v3.to_dict()})
        self.assertEqual(repr(again), repr(v3))
        self.assertEqual(frugal.model(again)["total_params"], frugal.model("deepseek-v3")["total_params"])

    def test_train_is_frugal_sim_train(self):
        out = subprocess.run([os.environ["FRUGAL_SIM"], "train", "--gpus", "4096", "--format", "json"], check=True,
                             capture_output=True, text=True).stdout
        cli = json.loads(out)
        py = frugal.train("deepseek-v3", gpus=4096)
        self.assertEqual(py["gpus"], 4096)
        self.assertAlmostEqual(py["gpu_hours"], cli["estimate"]["gpu_hours"] if "estimate" in cli else cli["gpu_hours"], places=3)

    def test_validate_names_table_1(self):
        rows = frugal.validate("deepseek-v3")
        total = next(r for r in rows if r["name"] == "DeepSeek-V3, all stages")
        self.assertEqual(total["published"], 2.788e6)
        self.assertIn("Table 1", total["source"])

    def test_sweep_keeps_every_point(self):
        points = frugal.sweep({"experts": [64, 256], "gpus": [1024, 2048]})
        self.assertEqual([(p["experts"], p["gpus"]) for p in points],
                         [("64", "1024"), ("64", "2048"), ("256", "1024"), ("256", "2048")])

    def test_serve_mtp_cuts_time_per_token(self):
        plain = frugal.serve(rate=4, requests=300)
        mtp = frugal.serve(rate=4, requests=300, mtp_acceptance=0.85)
        self.assertLess(mtp["tpot_p50_s"], plain["tpot_p50_s"] / 1.5)
        self.assertEqual(plain["completed"], 300)

    def test_serve_takes_serves_kernel_and_placement_flags(self):
        py = frugal.serve(rate=4, requests=300, kv_dtype="fp8", fp8_attention=True, eplb=True,
                          two_batch_overlap=False, low_latency_nvlink=False)
        cli = self.cli("serve", "--rate", "4", "--requests", "300", "--kv-dtype", "fp8", "--fp8-attention", "--eplb",
                       "--no-two-batch-overlap", "--no-low-latency-nvlink", "--no-compare")
        for key in ("ttft_p50_s", "ttft_p95_s", "tpot_p50_s", "tpot_p95_s", "cost_per_1k_requests_usd"):
            self.assertEqual(py[key], cli[key], key)
        self.assertEqual(py["deployment"]["kv_dtype"], "fp8")
        self.assertNotEqual(py["tpot_p50_s"], frugal.serve(rate=4, requests=300)["tpot_p50_s"])
        for kwargs, flag in [({"fp8_attention": True}, "--fp8-attention: needs --kv-dtype fp8"),
                             ({"kv_dtype": "fp4"}, "kv_dtype"), ({"redundant_experts": 5}, "--ep")]:
            with self.assertRaises(ValueError) as e:
                frugal.serve(rate=4, requests=300, **kwargs)
            self.assertIn(flag, str(e.exception))

    def cli(self, *args):
        return json.loads(subprocess.run([os.environ["FRUGAL_SIM"], *args, "--format", "json"], check=True,
                                         capture_output=True, text=True).stdout)

    def test_finetune_is_frugal_sim_finetune(self):
        py = frugal.finetune("llama-3.1-70b", method="qlora", rank=64, gpu="A100", examples=2000)
        cli = self.cli("finetune", "--preset", "llama-3.1-70b", "--method", "qlora", "--rank", "64", "--gpu", "A100",
                       "--examples", "2000")
        self.assertEqual(py, cli)
        self.assertTrue(py["fits"])
        eager = frugal.finetune("llama-3.1-8b", method="lora", gpu="A100", kernels="eager")
        self.assertEqual(eager, self.cli("finetune", "--preset", "llama-3.1-8b", "--method", "lora", "--gpu", "A100",
                                         "--kernels", "eager"))
        self.assertEqual(eager["kernels"], "eager")

    def test_distill_is_frugal_sim_distill(self):
        py = frugal.distill("llama-3.1-70b", "llama-3.1-8b", samples=5000, tokens_per_sample=400)
        cli = self.cli("distill", "--teacher", "llama-3.1-70b", "--student", "llama-3.1-8b", "--samples", "5000",
                       "--tokens-per-sample", "400", "--requests", "1000")
        for key in ("teacher_gpu_hours", "student_gpu_hours", "total_cost_usd", "break_even_requests"):
            self.assertAlmostEqual(py[key], cli[key], places=6)

    def test_ladder_is_frugal_sim_serve_ladder(self):
        py = frugal.ladder(["llama-3.1-8b", "deepseek-v3"], rate=5, gpus=["H100"], requests=300)
        cli = self.cli("serve", "--ladder", "llama-3.1-8b,deepseek-v3", "--rate", "5", "--plan-gpus", "H100",
                       "--requests", "300", "--prompt-tokens", "1000", "--output-tokens", "300")
        self.assertEqual([r["cost_per_1k_requests_usd"] for r in py], [r["cost_per_1k_requests_usd"] for r in cli])
        self.assertEqual(py[1]["published_scores"][0]["score"], 87.1)  # DeepSeek-V3 README, MMLU 5-shot

    def test_bad_input_is_a_value_error_naming_the_field(self):
        for call, field in [(lambda: frugal.serve(rate=0), "rate"), (lambda: frugal.model("no-such-model"), "preset"),
                            (lambda: frugal.fp8_encode(np.ones(3), "e3m4"), "format"),
                            (lambda: frugal.train_cpu(steps=-1), "steps"),
                            (lambda: frugal.experiment("nope"), "experiment"),
                            (lambda: frugal.finetune(method="sgd"), "method"),
                            (lambda: frugal.finetune(kernels="jit"), "kernels"),
                            (lambda: frugal.distill(mode="soft"), "mode")]:
            with self.assertRaises(ValueError) as e:
                call()
            self.assertIn(field, str(e.exception))


class Fp8(unittest.TestCase):
    def test_codes_by_hand(self):
        # 3.14 = 1.57 × 2^1: exponent 1 + 7 = 0b1000, mantissa 0.57 × 8 = 4.56 → 5: 0 1000 101 = 0x45 = 3.25.
        codes = frugal.fp8_encode(np.array([3.14, 1000.0, -1000.0, 1e-4]))
        self.assertEqual(codes.dtype, np.uint8)
        self.assertEqual(codes[0], 0x45)
        np.testing.assert_array_equal(frugal.fp8_decode(codes), [3.25, 448.0, -448.0, 0.0])
        self.assertTrue(np.isnan(frugal.fp8_round(np.array([1000.0]), saturate=False)[0]))  # E4M3 has no Inf
        self.assertEqual(frugal.fp8_format("e5m2")["max_finite"], 57344.0)

    def test_tiles_contain_an_outlier(self):
        x = np.random.default_rng(1).standard_normal((128, 1024)).astype(np.float32)
        x[0, 0] = 1e5
        self.assertGreater(frugal.quantize_error(x, "per-tensor")["underflow_fraction"], 0.05)
        self.assertLess(frugal.quantize_error(x, "1x128")["underflow_fraction"], 0.001)

    def test_promotion_bounds_accumulation_error(self):
        never = frugal.accumulation_error(k=4096)["max_relative_error"]
        promoted = frugal.accumulation_error(k=4096, promotion_interval=128)["max_relative_error"]
        self.assertLess(promoted, never / 3)


class CpuReference(unittest.TestCase):
    def test_train_cpu_is_frugal_train(self):
        config = os.path.join(os.environ["FRUGAL_MODELS"], "deepseek-v3-tiny.json")
        with tempfile.TemporaryDirectory() as d:
            metrics = os.path.join(d, "m.json")
            subprocess.run([os.environ["FRUGAL_TRAIN"], "--config", config, "--steps", "6", "--metrics-json", metrics],
                           check=True, capture_output=True)
            with open(metrics) as f:
                cli = [m["loss"] for m in json.load(f)["history"]]
        h = frugal.train_cpu(config, steps=6)
        np.testing.assert_array_equal(h["loss"], cli)
        self.assertEqual(list(h["step"]), [1, 2, 3, 4, 5, 6])
        self.assertAlmostEqual(h["loss_floor"], 1.0984, places=3)
        self.assertEqual(h["expert_load"].shape, (3, 16))  # 3 MoE layers × 16 routed experts
        self.assertEqual(h["expert_load"].sum(axis=1).tolist(), [16 * 64 * 4] * 3)  # every token's top-4

    def test_experiment_returns_every_arm(self):
        r = frugal.experiment("mtp", steps=8, eval_every=4, batch_size=4)
        self.assertEqual([h["name"] for h in r["histories"]], ["no-mtp", "mtp"])
        self.assertEqual(len(r["acceptance"]), 1)
        self.assertTrue(0.0 <= r["acceptance"][0] <= 1.0)
        self.assertIn("mtp", r["table"])


if __name__ == "__main__":
    unittest.main()
