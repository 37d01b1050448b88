/*
 * rtws C++20 projection: Windows.System.Threading.ThreadPool (RunAsync on rtws's pool,
 * ThreadPool_RunAsync). The work item runs once on a library pool thread, not an I/O thread:
 * it may block (a get() there is allowed). The returned IAsyncAction completes when it
 * returns; Cancel makes it Canceled at once (the work still runs: it may look at
 * operation.Status() to stop early). An exception it lets out goes to rtws's log.
 */
#ifndef RTWS_CPP_WINDOWS_SYSTEM_THREADING_H
#define RTWS_CPP_WINDOWS_SYSTEM_THREADING_H

#include <rtws/Windows.Foundation.h>

namespace rtws::Windows::System::Threading
{
    using WorkItemHandler = delegate<Foundation::IAsyncAction const&>;

    struct ThreadPool
    {
        static Foundation::IAsyncAction RunAsync(WorkItemHandler const& handler)
        {
            auto* context = new WorkItemHandler(handler);
            abi::IAsyncAction* op = nullptr;
            hresult const code = abi::ThreadPool_RunAsync(&run, context, &op);
            if (code < 0)
            {
                delete context;
                impl::check(code);
            }
            return Foundation::IAsyncAction{ op, take_ownership_from_abi };
        }

    private:
        // Called exactly once (rtws_Shutdown aside), so it owns the handler.
        static void run(void* context, abi::IAsyncAction* operation) noexcept
        {
            std::unique_ptr<WorkItemHandler> const handler(static_cast<WorkItemHandler*>(context));
            try
            {
                (*handler)(impl::borrowed<Foundation::IAsyncAction>(operation).get());
            }
            catch (...)
            {
                impl::report_handler_exception("WorkItemHandler");
            }
        }
    };
}

#endif
