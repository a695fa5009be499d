"""Messages of the sign-in, invitation and account pages, merged into ``web/i18n.py``."""

from __future__ import annotations

from typing import Final

ZH: Final[dict[str, str]] = {
    "error.forbidden": "无权访问",
    "acct.signin": "登录",
    "acct.signout": "退出登录",
    "acct.account": "我的账号",
    "acct.signin_title": "登录 ChainProof",
    "acct.signin_lead": "评审员、申报单位和管理员用管理员邀请时设置的"
    "密码登录。机器和命令行仍使用 API 密钥。",
    "acct.email": "电子邮箱",
    "acct.password": "密码",
    "acct.code": "动态验证码（已启用两步验证时填写）",
    "acct.failed": "邮箱、密码或验证码不正确。",
    "acct.locked_account": "该账号登录失败次数过多，已暂时锁定：请在 {m"
    "inutes} 分钟后（{until}）再试。",
    "acct.locked_address": "来自您所在网络地址的登录失败次数过多，已暂时锁定：请"
    "在 {minutes} 分钟后（{until}）再试。",
    "acct.cross_site": "已拒绝：该请求不是从本站页面发出的。",
    "acct.signed_in_as": "已登录：{email}（{org}，{role}）",
    "acct.need_signin": "请先登录。",
    "acct.forbidden": "您的角色（{role}）不能访问此页面：需要 {wanted}。",
    "acct.invite_title": "接受邀请，设置密码",
    "acct.invite_lead": "您被邀请加入 {org}，角色：{role}。请为"
    " {email} 设置密码（至少 12 个字符）。",
    "acct.invite_bad": "邀请链接无效（已使用、已被替换或已过期），请联系管理员重新邀请。",
    "acct.password_again": "再次输入密码",
    "acct.mismatch": "两次输入的密码不一致。",
    "acct.set_password": "设置密码并登录",
    "acct.account_title": "我的账号",
    "acct.change_password": "修改密码",
    "acct.current_password": "当前密码",
    "acct.new_password": "新密码",
    "acct.password_changed": "密码已修改，其他设备上的登录均已失效。",
    "acct.wrong_password": "当前密码不正确。",
    "acct.totp": "两步验证（TOTP）",
    "acct.totp_on": "已启用：登录时需要验证器应用中的 6 位动态码。",
    "acct.totp_off": "未启用。",
    "acct.totp_start": "启用两步验证",
    "acct.totp_scan": "用验证器应用扫描二维码，或手动输入下面的"
    "链接，然后填写应用显示的 6 位动态码。",
    "acct.totp_confirm": "确认启用",
    "acct.totp_bad": "动态码不正确，请重试。",
    "acct.totp_enabled": "两步验证已启用。",
    "acct.admin_users": "人员账号（邀请）",
    "acct.invite_email": "被邀请人邮箱",
    "acct.invite_org": "成员单位",
    "acct.invite_role": "角色",
    "acct.invite_button": "邀请",
    "js.invite_link": "邀请链接（只显示一次，请发给被邀请人）：",
    "js.need_signin": "请先登录。",
}

EN: Final[dict[str, str]] = {
    "error.forbidden": "Not allowed",
    "acct.signin": "Sign in",
    "acct.signout": "Sign out",
    "acct.account": "My account",
    "acct.signin_title": "Sign in to ChainProof",
    "acct.signin_lead": "Reviewers, applicants and admins sign in with the password they set when "
    "invited. Machines and the CLI keep using API keys.",
    "acct.email": "Email",
    "acct.password": "Password",
    "acct.code": "Authenticator code (if two-step verification is on)",
    "acct.failed": "The email, password or code is not right.",
    "acct.locked_account": "Too many failed sign-ins for this account: it is locked for now. "
    "Try again in {minutes} min ({until}).",
    "acct.locked_address": "Too many failed sign-ins from your network address: it is locked for "
    "now. Try again in {minutes} min ({until}).",
    "acct.cross_site": "Refused: this request did not come from this site's pages.",
    "acct.signed_in_as": "Signed in: {email} ({org}, {role})",
    "acct.need_signin": "Sign in first.",
    "acct.forbidden": "Your role ({role}) cannot open this page: it needs {wanted}.",
    "acct.invite_title": "Accept the invitation: set a password",
    "acct.invite_lead": "You are invited into {org} as {role}. Set a password for {email} "
    "(at least 12 characters).",
    "acct.invite_bad": "This invitation link is not valid (used, replaced or expired): ask an "
    "admin to invite you again.",
    "acct.password_again": "Password again",
    "acct.mismatch": "The two passwords differ.",
    "acct.set_password": "Set password and sign in",
    "acct.account_title": "My account",
    "acct.change_password": "Change password",
    "acct.current_password": "Current password",
    "acct.new_password": "New password",
    "acct.password_changed": "Password changed; every other signed-in device is signed out.",
    "acct.wrong_password": "The current password is not right.",
    "acct.totp": "Two-step verification (TOTP)",
    "acct.totp_on": "On: signing in asks for the 6-digit code of your authenticator app.",
    "acct.totp_off": "Off.",
    "acct.totp_start": "Turn on two-step verification",
    "acct.totp_scan": "Scan the QR code with an authenticator app (or enter the link below), "
    "then type the 6-digit code it shows.",
    "acct.totp_confirm": "Confirm",
    "acct.totp_bad": "The code is not right; try again.",
    "acct.totp_enabled": "Two-step verification is on.",
    "acct.admin_users": "People (invitations)",
    "acct.invite_email": "Email of the person",
    "acct.invite_org": "Member org",
    "acct.invite_role": "Role",
    "acct.invite_button": "Invite",
    "js.invite_link": "Invitation link (shown once: send it to the person):",
    "js.need_signin": "Sign in first.",
}
