//! WGS84 longitude/latitude to and from Ordnance Survey British National Grid (EPSG:27700).
//! Seven-parameter Helmert datum shift (WGS84 ↔ OSGB36) plus the OS transverse Mercator, good to a few metres.

const WGS84_A: f64 = 6_378_137.0;
const WGS84_B: f64 = 6_356_752.314_245;
const AIRY_A: f64 = 6_377_563.396;
const AIRY_B: f64 = 6_356_256.909;
const F0: f64 = 0.999_601_271_7;
const E0: f64 = 400_000.0;
const N0: f64 = -100_000.0;
const ARCSEC: f64 = std::f64::consts::PI / (180.0 * 3600.0);

/// Converts WGS84 (longitude, latitude in degrees) to BNG (easting, northing in metres).
pub fn wgs84_to_bng(lon: f64, lat: f64) -> (f64, f64) {
    let (x, y, z) = to_cartesian(lat.to_radians(), lon.to_radians(), WGS84_A, WGS84_B);
    let (x, y, z) = helmert(x, y, z, 1.0);
    let (phi, lambda) = from_cartesian(x, y, z, AIRY_A, AIRY_B);
    project(phi, lambda)
}

/// Converts BNG (easting, northing in metres) back to WGS84 (longitude, latitude in degrees).
pub fn bng_to_wgs84(easting: f64, northing: f64) -> (f64, f64) {
    let (phi, lambda) = unproject(easting, northing);
    let (x, y, z) = to_cartesian(phi, lambda, AIRY_A, AIRY_B);
    let (x, y, z) = helmert(x, y, z, -1.0);
    let (phi, lambda) = from_cartesian(x, y, z, WGS84_A, WGS84_B);
    (lambda.to_degrees(), phi.to_degrees())
}

fn to_cartesian(phi: f64, lambda: f64, a: f64, b: f64) -> (f64, f64, f64) {
    let e2 = 1.0 - (b * b) / (a * a);
    let (sp, cp) = phi.sin_cos();
    let nu = a / (1.0 - e2 * sp * sp).sqrt();
    (
        nu * cp * lambda.cos(),
        nu * cp * lambda.sin(),
        (1.0 - e2) * nu * sp,
    )
}

fn from_cartesian(x: f64, y: f64, z: f64, a: f64, b: f64) -> (f64, f64) {
    let e2 = 1.0 - (b * b) / (a * a);
    let p = (x * x + y * y).sqrt();
    let mut phi = z.atan2(p * (1.0 - e2));
    for _ in 0..10 {
        let sp = phi.sin();
        let nu = a / (1.0 - e2 * sp * sp).sqrt();
        let next = (z + e2 * nu * sp).atan2(p);
        let done = (next - phi).abs() < 1e-12;
        phi = next;
        if done {
            break;
        }
    }
    (phi, y.atan2(x))
}

/// WGS84 → OSGB36 Helmert shift; `sign` = -1 applies the inverse (small-angle approximation).
fn helmert(x: f64, y: f64, z: f64, sign: f64) -> (f64, f64, f64) {
    let tx = -446.448 * sign;
    let ty = 125.157 * sign;
    let tz = -542.060 * sign;
    let s = 1.0 + 20.4894e-6 * sign;
    let rx = -0.1502 * ARCSEC * sign;
    let ry = -0.2470 * ARCSEC * sign;
    let rz = -0.8421 * ARCSEC * sign;
    (
        tx + x * s - y * rz + z * ry,
        ty + x * rz + y * s - z * rx,
        tz - x * ry + y * rx + z * s,
    )
}

fn meridional_arc(phi: f64) -> f64 {
    let n = (AIRY_A - AIRY_B) / (AIRY_A + AIRY_B);
    let (n2, n3) = (n * n, n * n * n);
    let phi0 = 49f64.to_radians();
    let (d, s) = (phi - phi0, phi + phi0);
    AIRY_B
        * F0
        * ((1.0 + n + 1.25 * n2 + 1.25 * n3) * d
            - (3.0 * n + 3.0 * n2 + 21.0 / 8.0 * n3) * d.sin() * s.cos()
            + (15.0 / 8.0 * n2 + 15.0 / 8.0 * n3) * (2.0 * d).sin() * (2.0 * s).cos()
            - 35.0 / 24.0 * n3 * (3.0 * d).sin() * (3.0 * s).cos())
}

fn radii(phi: f64) -> (f64, f64, f64) {
    let e2 = 1.0 - (AIRY_B * AIRY_B) / (AIRY_A * AIRY_A);
    let sp = phi.sin();
    let k = 1.0 - e2 * sp * sp;
    let nu = AIRY_A * F0 / k.sqrt();
    let rho = AIRY_A * F0 * (1.0 - e2) / k.powf(1.5);
    (nu, rho, nu / rho - 1.0)
}

fn project(phi: f64, lambda: f64) -> (f64, f64) {
    let (nu, rho, eta2) = radii(phi);
    let (sp, cp) = phi.sin_cos();
    let t = phi.tan();
    let (t2, t4) = (t * t, t * t * t * t);
    let c3 = cp * cp * cp;
    let c5 = c3 * cp * cp;
    let i = meridional_arc(phi) + N0;
    let ii = nu / 2.0 * sp * cp;
    let iii = nu / 24.0 * sp * c3 * (5.0 - t2 + 9.0 * eta2);
    let iiia = nu / 720.0 * sp * c5 * (61.0 - 58.0 * t2 + t4);
    let iv = nu * cp;
    let v = nu / 6.0 * c3 * (nu / rho - t2);
    let vi = nu / 120.0 * c5 * (5.0 - 18.0 * t2 + t4 + 14.0 * eta2 - 58.0 * t2 * eta2);
    let dl = lambda - (-2f64).to_radians();
    let (dl2, dl3) = (dl * dl, dl * dl * dl);
    let north = i + ii * dl2 + iii * dl2 * dl2 + iiia * dl3 * dl3;
    let east = E0 + iv * dl + v * dl3 + vi * dl3 * dl2;
    (east, north)
}

fn unproject(east: f64, north: f64) -> (f64, f64) {
    let mut phi = 49f64.to_radians() + (north - N0) / (AIRY_A * F0);
    for _ in 0..20 {
        let m = meridional_arc(phi);
        let diff = north - N0 - m;
        if diff.abs() < 1e-5 {
            break;
        }
        phi += diff / (AIRY_A * F0);
    }
    let (nu, rho, eta2) = radii(phi);
    let t = phi.tan();
    let (t2, t4, t6) = (t * t, t.powi(4), t.powi(6));
    let sec = 1.0 / phi.cos();
    let vii = t / (2.0 * rho * nu);
    let viii = t / (24.0 * rho * nu.powi(3)) * (5.0 + 3.0 * t2 + eta2 - 9.0 * t2 * eta2);
    let ix = t / (720.0 * rho * nu.powi(5)) * (61.0 + 90.0 * t2 + 45.0 * t4);
    let x = sec / nu;
    let xi = sec / (6.0 * nu.powi(3)) * (nu / rho + 2.0 * t2);
    let xii = sec / (120.0 * nu.powi(5)) * (5.0 + 28.0 * t2 + 24.0 * t4);
    let xiia = sec / (5040.0 * nu.powi(7)) * (61.0 + 662.0 * t2 + 1320.0 * t4 + 720.0 * t6);
    let de = east - E0;
    let phi_out = phi - vii * de.powi(2) + viii * de.powi(4) - ix * de.powi(6);
    let lambda =
        (-2f64).to_radians() + x * de - xi * de.powi(3) + xii * de.powi(5) - xiia * de.powi(7);
    (phi_out, lambda)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordnance_survey_worked_example_projection() {
        // OS "A guide to coordinate systems in Great Britain", worked example C.1:
        // OSGB36 52°39'27.2531"N 1°43'4.5177"E → E 651409.903, N 313177.270.
        let phi = (52.0 + 39.0 / 60.0 + 27.2531 / 3600.0f64).to_radians();
        let lambda = (1.0 + 43.0 / 60.0 + 4.5177 / 3600.0f64).to_radians();
        let (e, n) = project(phi, lambda);
        assert!((e - 651_409.903).abs() < 0.01, "easting {e}");
        assert!((n - 313_177.270).abs() < 0.01, "northing {n}");
        let (p2, l2) = unproject(651_409.903, 313_177.270);
        assert!((p2 - phi).abs() < 1e-9 && (l2 - lambda).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn round_trip_within_a_metre(lon in -6.0f64..1.8, lat in 50.0f64..55.8) {
            let (e, n) = wgs84_to_bng(lon, lat);
            prop_assert!((0.0..700_000.0).contains(&e) && (0.0..1_300_000.0).contains(&n));
            let (lon2, lat2) = bng_to_wgs84(e, n);
            // 1e-5 degrees is about a metre.
            prop_assert!((lon - lon2).abs() < 1e-5 && (lat - lat2).abs() < 1e-5,
                "{lon},{lat} -> {e},{n} -> {lon2},{lat2}");
        }

        #[test]
        fn nearby_points_stay_nearby(lon in -5.0f64..1.5, lat in 50.5f64..55.0) {
            // 0.001° of latitude is ~111 m on the ground whatever the projection.
            let (e1, n1) = wgs84_to_bng(lon, lat);
            let (e2, n2) = wgs84_to_bng(lon, lat + 0.001);
            let d = ((e2 - e1).powi(2) + (n2 - n1).powi(2)).sqrt();
            prop_assert!((d - 111.2).abs() < 1.5, "distance {d}");
        }
    }
}
