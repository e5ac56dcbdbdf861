import Foundation

/// The beta distribution's cumulative distribution (the regularised incomplete beta function) and
/// its quantile, enough for exact binomial confidence intervals without a statistics dependency.
public enum BetaDistribution {
    /// `I_x(α, β)`, the probability that a Beta(α, β) variable is ≤ `x` (SciPy's
    /// `scipy.stats.beta.cdf` / `scipy.special.betainc`).
    ///
    /// Evaluated by the continued fraction for the incomplete beta function (modified Lentz), on
    /// `x` or, through `I_x(α, β) = 1 − I_{1−x}(β, α)`, on `1 − x` — whichever converges fast.
    ///
    /// - Precondition: `α > 0`, `β > 0`, `x` not NaN.
    public static func cumulativeProbability(_ x: Double, alpha: Double, beta: Double) -> Double {
        precondition(alpha > 0 && beta > 0, "BetaDistribution.cumulativeProbability: α = \(alpha), β = \(beta); both must be > 0")
        precondition(!x.isNaN, "BetaDistribution.cumulativeProbability: x is NaN")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = alpha * Foundation.log(x) + beta * Foundation.log1p(-x)
            - (logGamma(alpha) + logGamma(beta) - logGamma(alpha + beta))
        if x < (alpha + 1) / (alpha + beta + 2) {
            return Foundation.exp(logFront) * continuedFraction(x, alpha, beta) / alpha
        }
        return 1 - Foundation.exp(logFront) * continuedFraction(1 - x, beta, alpha) / beta
    }

    /// The `p`-quantile of Beta(α, β): the `x` with `I_x(α, β) = p` (SciPy's `scipy.stats.beta.ppf`),
    /// found by bisection on [0, 1] down to adjacent doubles.
    ///
    /// - Precondition: `0 ≤ p ≤ 1`, `α > 0`, `β > 0`.
    public static func quantile(_ p: Double, alpha: Double, beta: Double) -> Double {
        precondition(p >= 0 && p <= 1, "BetaDistribution.quantile: p = \(p), expected 0 ≤ p ≤ 1")
        precondition(alpha > 0 && beta > 0, "BetaDistribution.quantile: α = \(alpha), β = \(beta); both must be > 0")
        if p == 0 { return 0 }
        if p == 1 { return 1 }
        var low = 0.0, high = 1.0
        while true {
            let middle = (low + high) / 2
            if middle <= low || middle >= high { break }
            if cumulativeProbability(middle, alpha: alpha, beta: beta) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// `log Γ(x)` for `x > 0`, through the re-entrant `lgamma_r` (plain `lgamma` writes the global
    /// `signgam`, a data race when tests run in parallel).
    private static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// The continued fraction of `I_x(a, b)` (without its prefactor `xᵃ(1−x)ᵇ / (a·B(a, b))`),
    /// evaluated by the modified Lentz method; it converges fast for `x < (a + 1)/(a + b + 2)`.
    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        func guarded(_ value: Double) -> Double { abs(value) < tiny ? tiny : value }
        var c = 1.0
        var d = 1 / guarded(1 - (a + b) * x / (a + 1))
        var result = d
        for m in 1...100_000 {
            let m = Double(m)
            // Even term: m(b − m)x / ((a + 2m − 1)(a + 2m)).
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 / guarded(1 + even * d)
            c = guarded(1 + even / c)
            result *= d * c
            // Odd term: −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)).
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 / guarded(1 + odd * d)
            c = guarded(1 + odd / c)
            let step = d * c
            result *= step
            if abs(step - 1) < 1e-16 { break }
        }
        return result
    }
}

/// Confidence intervals for a binomial proportion.
public enum BinomialProportion {
    /// The Clopper–Pearson ("exact") interval for the success probability after `successes` in
    /// `trials`: `[B(a/2; x, n−x+1), B(1−a/2; x+1, n−x)]` with `B(q; α, β)` the beta quantile and
    /// `a = 1 − confidenceLevel` (0 below when `x = 0`, 1 above when `x = n`), as
    /// `statsmodels.stats.proportion.proportion_confint(method="beta")`.
    ///
    /// - Precondition: `0 ≤ successes ≤ trials`, `trials > 0`, `0 < confidenceLevel < 1`.
    public static func clopperPearsonInterval(successes: Int, trials: Int, confidenceLevel: Double = 0.95) -> ClosedRange<Double> {
        precondition(trials > 0 && successes >= 0 && successes <= trials,
                     "BinomialProportion.clopperPearsonInterval: \(successes) successes in \(trials) trials")
        precondition(confidenceLevel > 0 && confidenceLevel < 1,
                     "BinomialProportion.clopperPearsonInterval: confidence level \(confidenceLevel), expected in (0, 1)")
        let tail = (1 - confidenceLevel) / 2
        let x = Double(successes), n = Double(trials)
        let lower = successes == 0 ? 0 : BetaDistribution.quantile(tail, alpha: x, beta: n - x + 1)
        let upper = successes == trials ? 1 : BetaDistribution.quantile(1 - tail, alpha: x + 1, beta: n - x)
        return lower...upper
    }
}
