// net.hpp: the short names every Boost.Asio/Beast translation unit here uses (the receiver's and
// the dashboard's servers, the HTTP client), declared once. A .cpp says
// `using namespace common::net;` inside its own namespace; no header should.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace common::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// Errors as values: every awaited operation yields (error_code, result...) instead of throwing.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace common::net
