"""The closed set of failure reasons in Vietnamese: the words the report and the status page share.

Data only (no import of the report, which loads matplotlib and python-docx, nor of the status page).
"""

from __future__ import annotations

REASON = {
    "dns": "lỗi phân giải tên miền (DNS)",
    "connect_refused": "máy chủ từ chối kết nối",
    "connect_timeout": "quá thời gian chờ kết nối",
    "tls_handshake": "lỗi thiết lập kết nối bảo mật (TLS)",
    "tls_expired": "chứng chỉ số hết hạn",
    "tls_hostname": "chứng chỉ số không đúng tên miền",
    "tls_untrusted": "chứng chỉ số không được tin cậy",
    "not_https": "trang không còn dùng kết nối bảo mật (HTTPS)",
    "http_status": "máy chủ trả về mã lỗi",
    "header_mismatch": "tiêu đề phản hồi không đúng",
    "body_mismatch": "nội dung trang không đúng",
    "body_too_large": "nội dung trang quá lớn",
    "too_many_redirects": "chuyển hướng quá nhiều lần",
    "read_timeout": "quá thời gian chờ phản hồi",
    "timeout": "quá thời gian chờ",
    "protocol": "kết nối bị ngắt hoặc phản hồi sai giao thức",
    "other": "lỗi khác",
    "slow": "phản hồi chậm",
}
