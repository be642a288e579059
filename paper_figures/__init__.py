"""Regenerate the figures of the two papers tvspline implements.

``python -m paper_figures [--quick] [--only NAME ...] --out DIR`` computes every figure through
tvspline's public API, saves PNG + PDF + CSV per figure and writes ``DIR/index.html``.

Figure modules follow the contract of :mod:`paper_figures._common`. ``FIGURES`` lists them in the
order of the index page.
"""

FIGURES = [
    # The representer-theorem experiments (Unser, Goujon & Ducotterd, ACHA 2025).
    "grid_convergence",  # 1. fine uniform grids converge from above to the data-site optimum
    "constraints",  # 2. one data set under each slope constraint, knot counts vs M - 2
    "regularisation_path",  # 3. objective, data term, knot count against lambda
    "sparsest",  # 4. canonical vs sparsest minimiser
    "network_knots",  # 5. knots of a trained network's activations at pre-activation values
    # The applications (Ducotterd et al., JMLR 2024; ACHA 2025 section on regularisers).
    "lipschitz_fits",  # 1-Lipschitz fitting comparison: fits and MSE table
    "learned_activations",  # the activations of a trained 1-Lipschitz spline network
    "wasserstein",  # W1 estimates by 1-Lipschitz critics against the exact value
    "ridge_profiles",  # learned sigma_i and psi_i of the convex / weakly convex regularisers
    "denoising_examples",  # denoising examples with PSNR
    "ct_example",  # CT reconstruction example with PSNR
    "solver_benchmark",  # solver time against M, log-log
]
