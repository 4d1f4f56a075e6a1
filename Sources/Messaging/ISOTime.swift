/// RFC 3339 UTC timestamps with milliseconds, computed without a formatter.
public enum ISOTime {
    public static func format(millis: Int64) -> String {
        let (seconds, ms) = millis.quotientAndRemainder(dividingBy: 1000)
        var secs = seconds
        var milli = ms
        if milli < 0 {
            milli += 1000
            secs -= 1
        }
        var (days, secOfDay) = secs.quotientAndRemainder(dividingBy: 86_400)
        if secOfDay < 0 {
            secOfDay += 86_400
            days -= 1
        }
        let (y, m, d) = civil(fromDays: days)
        if (0...9999).contains(y) {
            // Digits written into the string's own storage: inbox pages format one per row.
            return String(unsafeUninitializedCapacity: 24) { text in
                func put(_ value: Int64, _ width: Int, at start: Int) {
                    var rest = value
                    for index in stride(from: start + width - 1, through: start, by: -1) {
                        text[index] = UInt8(48 + rest % 10)
                        rest /= 10
                    }
                }
                put(y, 4, at: 0)
                text[4] = UInt8(ascii: "-")
                put(m, 2, at: 5)
                text[7] = UInt8(ascii: "-")
                put(d, 2, at: 8)
                text[10] = UInt8(ascii: "T")
                put(secOfDay / 3600, 2, at: 11)
                text[13] = UInt8(ascii: ":")
                put(secOfDay % 3600 / 60, 2, at: 14)
                text[16] = UInt8(ascii: ":")
                put(secOfDay % 60, 2, at: 17)
                text[19] = UInt8(ascii: ".")
                put(milli, 3, at: 20)
                text[23] = UInt8(ascii: "Z")
                return 24
            }
        }
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secOfDay / 3600, 2)):\(pad(secOfDay % 3600 / 60, 2)):\(pad(secOfDay % 60, 2)).\(pad(milli, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` or a bare date `YYYY-MM-DD` (midnight UTC).
    public static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<from + count {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        let days = days(fromCivil: y, mo, d)
        if b.count == 10 { return days * 86_400_000 }
        guard b.count >= 20, b[10] == 84 || b[10] == 116 || b[10] == 32, let h = num(11, 2), b[13] == 58,
            let mi = num(14, 2), b[16] == 58, let s = num(17, 2), h < 24, mi < 60, s < 61
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if b[index] == 46 {
            index += 1
            var digits = 0
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(b[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 {
                millis *= 10
                digits += 1
            }
        }
        var offset: Int64 = 0
        guard index < b.count else { return nil }
        if b[index] == 90 || b[index] == 122 {
            index += 1
        } else if b[index] == 43 || b[index] == 45 {
            guard let oh = num(index + 1, 2), b.count > index + 3, b[index + 3] == 58, let om = num(index + 4, 2) else {
                return nil
            }
            offset = (oh * 60 + om) * 60_000 * (b[index] == 43 ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        return (days * 86_400 + h * 3600 + mi * 60 + s) * 1000 + millis - offset
    }

    // Howard Hinnant's days-from-civil algorithms.
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
